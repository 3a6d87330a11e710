// Fetches and compiles the engine's WebAssembly once per page: every lab on the page (and every
// worker a lab starts) instantiates the same compiled module. The cache is the one piece of
// page-wide state the lab keeps, and it only ever holds settled compilations of immutable bytes.

const compiled = new Map(); // wasm URL (string) -> Promise<WebAssembly.Module>

/** The default location of the engine's wasm file, next to the wasm-bindgen glue. */
export const DEFAULT_WASM_URL = new URL('../../pkg/redis_repl_lab_bg.wasm', import.meta.url).href;

/** The default location of the wasm-bindgen glue (an ES module). */
export const GLUE_URL = new URL('../../pkg/redis_repl_lab.js', import.meta.url).href;

/**
 * Resolves to the compiled engine module for `url` (fetched once per page). A server that does
 * not send `application/wasm` still works: the bytes are compiled without streaming.
 */
export function compileEngine(url = DEFAULT_WASM_URL) {
  const key = String(url);
  let p = compiled.get(key);
  if (!p) {
    p = (async () => {
      const response = await fetch(key);
      if (!response.ok) throw new Error(`${key}: HTTP ${response.status}`);
      const streaming = typeof WebAssembly.compileStreaming === 'function'
        && (response.headers.get('content-type') || '').startsWith('application/wasm');
      if (streaming) return WebAssembly.compileStreaming(response);
      return WebAssembly.compile(await response.arrayBuffer());
    })();
    // A failed fetch may be retried by the next lab (a flaky network, a fixed path).
    p.catch(() => compiled.delete(key));
    compiled.set(key, p);
  }
  return p;
}
