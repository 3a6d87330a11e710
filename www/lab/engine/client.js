// The element's handle on its engine: requests go to the lab's own Worker and come back as
// promises. Where a Worker cannot start (a page served from another origin than the lab's files,
// an old browser), the same host runs on the page's thread behind the same promises.
//
// A panic in the engine rejects the pending request with {code: 'panic', message, restore}; the
// element shows it and can start a new engine from `restore` (the calls that succeeded).

import { compileEngine, DEFAULT_WASM_URL, GLUE_URL } from './module.js';
import { EngineHost, plainError, isFatal } from './host.js';

export class EngineClient {
  /**
   * @param {object} opts
   * @param {string} [opts.wasmUrl] where the engine's .wasm is (default: next to the glue)
   * @param {boolean} [opts.worker] false to run on the page's thread
   */
  static async start({ wasmUrl = DEFAULT_WASM_URL, worker = true } = {}) {
    // The Worker starts (and loads its scripts) while the module downloads and compiles.
    const compiling = compileEngine(wasmUrl);
    const client = new EngineClient();
    if (worker && typeof Worker === 'function') {
      try {
        await client.startWorker(compiling);
        return client;
      } catch {
        client.terminate();
      }
    }
    await client.startInThread(await compiling);
    return client;
  }

  constructor() {
    this.worker = null;
    this.host = null; // in-thread host
    this.pending = new Map(); // id -> {resolve, reject}
    this.nextId = 1;
    this.dead = false;
    this.onPanic = null; // (panic) => void
  }

  async startWorker(compiling) {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.worker = worker;
    worker.onmessage = (e) => this.answer(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      this.failAll({ message: e.message || 'the engine worker failed', code: 'worker' });
    };
    const module = await compiling;
    await this.send({ init: { module, glueUrl: GLUE_URL } });
  }

  async startInThread(module) {
    const glue = await import(GLUE_URL);
    await glue.default({ module_or_path: module });
    this.host = new EngineHost(glue);
    this.seed = 0;
  }

  /** Sends one request; resolves to its value or rejects with {message, code}. */
  request(req) {
    if (this.dead) return Promise.reject({ message: 'the engine stopped after an error', code: 'dead' });
    if (this.host) return this.runInThread(req);
    return this.send({ req });
  }

  send(msg) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...msg });
    });
  }

  answer({ id, ok, value, error, panic }) {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (panic) {
      this.died(panic);
      p.reject({ code: 'panic', message: panic.message, restore: panic.restore });
    } else if (ok) {
      p.resolve(value);
    } else {
      p.reject(error);
    }
  }

  runInThread(req) {
    return new Promise((resolve, reject) => {
      // Answer asynchronously, as the worker does, so callers see the same ordering.
      queueMicrotask(() => {
        try {
          if (req.op === 'create') this.seed = req.seed ?? (req.restore && req.restore.seed) ?? 0;
          resolve(this.host.handle(req));
        } catch (err) {
          if (!this.host.dead && isFatal(err, this.host.glue)) {
            const panic = this.host.salvage(this.seed);
            this.died(panic);
            reject({ code: 'panic', message: panic.message, restore: panic.restore });
          } else {
            reject(plainError(err));
          }
        }
      });
    });
  }

  died(panic) {
    this.dead = true;
    if (this.onPanic) this.onPanic(panic);
    this.failAll({ code: 'panic', message: panic.message, restore: panic.restore });
  }

  failAll(error) {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  /** True when the engine runs in its own Worker. */
  get inWorker() {
    return this.worker !== null;
  }

  terminate() {
    this.dead = true;
    if (this.worker) this.worker.terminate();
    this.worker = null;
    this.failAll({ code: 'stopped', message: 'the lab was removed' });
  }
}
