#!/usr/bin/env node
// Static file server for the lab page (www/, including the wasm package in www/pkg/).
// No dependencies. Usage: node scripts/serve.mjs [--port 8080] [--host 127.0.0.1] [--root DIR] [--no-csp]
// --port 0 picks a free port. Prints "Redis Replication Lab: http://HOST:PORT/" once listening.
// --root serves another folder (dist/, or a test's scratch site); --no-csp leaves out the
// Content-Security-Policy header, as a plain static host would (pages may carry their own).

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'www');
let sendCsp = true;

export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
].join('; ');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.toml': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

function usage(code) {
  const out = code === 0 ? process.stdout : process.stderr;
  out.write('usage: node scripts/serve.mjs [--port N] [--host ADDR] [--root DIR] [--no-csp]\n');
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { port: 8080, host: '127.0.0.1', root: null, csp: true };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) {
        process.stderr.write(`serve.mjs: ${arg} needs a value\n`);
        usage(2);
      }
      return argv[++i];
    };
    if (arg === '--port' || arg === '-p') {
      const raw = next();
      const port = Number(raw);
      if (!/^\d+$/.test(raw) || port > 65535) {
        process.stderr.write(`serve.mjs: bad port: ${raw}\n`);
        process.exit(2);
      }
      opts.port = port;
    } else if (arg === '--host') {
      opts.host = next();
    } else if (arg === '--root') {
      opts.root = path.resolve(next());
    } else if (arg === '--no-csp') {
      opts.csp = false;
    } else if (arg === '--help' || arg === '-h') {
      usage(0);
    } else {
      process.stderr.write(`serve.mjs: unknown argument: ${arg}\n`);
      usage(2);
    }
  }
  return opts;
}

function baseHeaders(extra = {}) {
  return {
    ...(sendCsp ? { 'Content-Security-Policy': CSP } : {}),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
    'Referrer-Policy': 'no-referrer',
    ...extra,
  };
}

function sendText(req, res, status, text, extra = {}) {
  const body = `${text}\n`;
  res.writeHead(status, baseHeaders({
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...extra,
  }));
  res.end(req.method === 'HEAD' ? undefined : body);
}

let rootReal = null;
function realRoot() {
  if (rootReal === null) rootReal = fs.realpathSync(ROOT);
  return rootReal;
}

function inside(base, p) {
  return p === base || p.startsWith(base + path.sep);
}

async function handle(req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendText(req, res, 405, 'Method Not Allowed', { Allow: 'GET, HEAD' });
    return;
  }
  const rawPath = (req.url || '/').split(/[?#]/, 1)[0];
  let decoded;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    sendText(req, res, 400, 'Bad Request');
    return;
  }
  if (!decoded.startsWith('/') || decoded.includes('\0')) {
    sendText(req, res, 400, 'Bad Request');
    return;
  }
  // Any ".." segment (also written with backslashes or percent-encoded) is a traversal attempt.
  const segments = decoded.split(/[\\/]+/);
  if (segments.includes('..') || rawPath.includes('\\') || decoded.includes('\\')) {
    sendText(req, res, 403, 'Forbidden');
    return;
  }
  let file = path.resolve(ROOT, `.${decoded}`);
  if (!inside(ROOT, file)) {
    sendText(req, res, 403, 'Forbidden');
    return;
  }
  let stat;
  try {
    stat = await fs.promises.stat(file);
    if (stat.isDirectory()) {
      if (!decoded.endsWith('/')) {
        res.writeHead(301, baseHeaders({ Location: `${rawPath}/`, 'Content-Length': 0 }));
        res.end();
        return;
      }
      file = path.join(file, 'index.html');
      stat = await fs.promises.stat(file);
    }
    if (!stat.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
    // A symlink inside www/ must not lead outside it.
    const real = await fs.promises.realpath(file);
    if (!inside(realRoot(), real)) {
      sendText(req, res, 403, 'Forbidden');
      return;
    }
  } catch (err) {
    if (err && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) sendText(req, res, 404, 'Not Found');
    else sendText(req, res, 500, 'Internal Server Error');
    return;
  }
  const type = TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream';
  // Every response is revalidated (no-cache), as a static host does: an unchanged file costs a
  // 304 and no body, and the browser keeps what it made of it (the compiled wasm among them).
  const etag = `"${stat.size.toString(36)}-${Math.floor(stat.mtimeMs).toString(36)}"`;
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, baseHeaders({ ETag: etag }));
    res.end();
    return;
  }
  res.writeHead(200, baseHeaders({ 'Content-Type': type, 'Content-Length': stat.size, ETag: etag }));
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = fs.createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

function main() {
  const { port, host, root, csp } = parseArgs(process.argv.slice(2));
  if (root !== null) ROOT = root;
  sendCsp = csp;
  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendText(req, res, 500, 'Internal Server Error');
      else res.destroy();
    });
  });
  server.on('error', (err) => {
    process.stderr.write(`serve.mjs: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, host, () => {
    const addr = server.address();
    const shownHost = addr.family === 'IPv6' || host.includes(':') ? `[${addr.address}]` : host;
    process.stdout.write(`Redis Replication Lab: http://${shownHost}:${addr.port}/\n`);
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main();
