// The Worker a lab runs its engine in, off the page's main thread: one worker per lab, each with
// its own instance of the engine module the page compiled once (see module.js and client.js).
// Messages in: {id, req}; out: {id, ok, value} | {id, ok: false, error} | {id, panic}.

import { EngineHost, plainError, isFatal } from './host.js';
import { GLUE_URL } from './module.js';

let host = null; // this worker's one engine (a worker serves one lab)
let seed = 0;
// The glue loads while the page is still compiling the module it will send.
const earlyGlue = import(GLUE_URL);
earlyGlue.catch(() => {}); // a failure shows when `start` awaits it

async function start({ module, glueUrl }) {
  const glue = await (glueUrl === GLUE_URL ? earlyGlue : import(glueUrl));
  await glue.default({ module_or_path: module });
  host = new EngineHost(glue);
  return host;
}

self.onmessage = async (e) => {
  const { id, req, init } = e.data || {};
  try {
    if (init) {
      await start(init);
      self.postMessage({ id, ok: true, value: null });
      return;
    }
    if (!host) throw { message: 'the engine is not started', code: 'not-started' };
    if (req.op === 'create') seed = req.seed ?? (req.restore && req.restore.seed) ?? 0;
    const value = host.handle(req);
    self.postMessage({ id, ok: true, value });
  } catch (err) {
    if (host && !host.dead && isFatal(err, host.glue)) {
      self.postMessage({ id, panic: host.salvage(seed) });
      return;
    }
    self.postMessage({ id, ok: false, error: plainError(err) });
  }
};
