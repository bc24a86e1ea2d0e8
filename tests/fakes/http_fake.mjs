// http_fake.mjs — a small, generic fake HTTP upstream for tests (no npm deps).
//
// As a program:  node tests/fakes/http_fake.mjs <port-file>
//   listens on 127.0.0.1 on a free port, then writes the port number to
//   <port-file> (atomically: written to <port-file>.tmp, then renamed).
//   Stops on SIGTERM/SIGINT.
// As a module:   const fake = await startHttpFake(); ... fake.url('/json'); await fake.close();
//
// Every route accepts any method. Query parameters shape the answer, so one
// server covers many cases without per-test code. Any request carrying
// ?key=K is counted under K; GET /hits?key=K reports the count, which lets a
// test prove how many attempts reached the server (or that none did).
//
// Routes
//   /json                       200 {"ok":true,"method":M}
//   /status/<code>              <code>; options:
//        body=<text>            response body (default {"status":<code>})
//        type=<content-type>    default application/json (text/plain with body=)
//        retry_after=<s>        Retry-After: <s>
//        retry_after_date=<s>   Retry-After: <HTTP-date s seconds from now>
//   /flaky?key=K&fail=N         the first N hits of K answer status= (default 500,
//        [&status=S]            with retry_after= as above), later hits 200;
//        [&retry_after=S]       body {"ok":bool,"hit":n}
//   /slow?ms=N                  waits N ms, then 200 {"ok":true}; with
//        [&headers_first=1]     headers_first=1 the headers go out at once and
//                               the body after the wait
//   /hang                       never answers (the connection stays open until
//                               the client gives up or the fake closes)
//   /big?bytes=N[&chunked=1]    200 with N bytes of "x"; chunked=1 omits
//                               Content-Length (the size is only known while
//                               streaming)
//   /redirect?to=<url>          302 (or status=30x) with Location: <url>
//   /echo                       200 {"method","path","query","headers","body","body_len"}
//                               (headers with lower-case names; body as UTF-8 text)
//   /hits?key=K                 200 {"key":K,"hits":n}
//   /site/<path>                a served file set by the test: fake.files.set('/site/x',
//                               { type, body }) (a small website: pages, images)
//   anything else               404 {"error":"not found"}
import http from 'node:http';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const h = { 'content-type': 'application/json', ...headers };
  if (!('content-length' in h)) h['content-length'] = Buffer.byteLength(text);
  res.writeHead(status, h);
  res.end(text);
}

function retryAfterHeaders(q) {
  if (q.has('retry_after')) return { 'retry-after': q.get('retry_after') };
  if (q.has('retry_after_date')) {
    const when = new Date(Date.now() + Number(q.get('retry_after_date')) * 1000);
    return { 'retry-after': when.toUTCString() };
  }
  return {};
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Create the fake server (not listening yet). Returns { server, hits }. */
export function createHttpFake() {
  const hits = new Map();
  const files = new Map();
  const server = http.createServer(async (req, res) => {
    const u = new URL(req.url, 'http://fake.invalid');
    const q = u.searchParams;
    const key = q.get('key');
    let hit = 0;
    if (key !== null && u.pathname !== '/hits') {
      hit = (hits.get(key) || 0) + 1;
      hits.set(key, hit);
    }
    const body = await readBody(req);
    const p = u.pathname;
    try {
      if (p === '/json') return send(res, 200, { ok: true, method: req.method });
      if (p.startsWith('/status/')) {
        const code = Number(p.slice(8)) || 500;
        const h = retryAfterHeaders(q);
        if (q.has('body')) return send(res, code, q.get('body'), { 'content-type': q.get('type') || 'text/plain', ...h });
        return send(res, code, { status: code }, { 'content-type': q.get('type') || 'application/json', ...h });
      }
      if (p === '/flaky') {
        const fail = Number(q.get('fail') || 1);
        if (hit <= fail) {
          const code = Number(q.get('status') || 500);
          return send(res, code, { ok: false, error: 'flaky', hit }, retryAfterHeaders(q));
        }
        return send(res, 200, { ok: true, hit });
      }
      if (p === '/hang') return; // no answer, ever
      if (p === '/slow') {
        const ms = Number(q.get('ms') || 1000);
        if (q.get('headers_first') === '1') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.flushHeaders();
          await sleep(ms);
          if (!res.destroyed) res.end('{"ok":true}');
          return;
        }
        await sleep(ms);
        if (!res.destroyed) send(res, 200, { ok: true });
        return;
      }
      if (p === '/big') {
        const n = Number(q.get('bytes') || 0);
        const chunked = q.get('chunked') === '1';
        res.writeHead(200, chunked ? { 'content-type': 'text/plain' }
          : { 'content-type': 'text/plain', 'content-length': n });
        const block = Buffer.alloc(Math.min(n, 16384), 'x');
        let left = n;
        while (left > 0 && !res.destroyed) {
          const part = left >= block.length ? block : block.subarray(0, left);
          left -= part.length;
          if (!res.write(part)) await new Promise((r) => { res.once('drain', r); res.once('close', r); });
        }
        res.end();
        return;
      }
      if (p === '/redirect') {
        const code = Number(q.get('status') || 302);
        return send(res, code, '', { location: q.get('to') || '/json', 'content-type': 'text/plain' });
      }
      if (p === '/echo') {
        return send(res, 200, {
          method: req.method, path: p, query: Object.fromEntries(q), headers: req.headers,
          body: body.toString('utf8'), body_len: body.length,
        });
      }
      if (p === '/hits') return send(res, 200, { key, hits: hits.get(key) || 0 });
      if (p.startsWith('/site/') || p === '/robots.txt') {
        const f = files.get(p);
        if (!f) return send(res, 404, 'no such file', { 'content-type': 'text/plain' });
        const buf = Buffer.isBuffer(f.body) ? f.body : Buffer.from(f.body);
        res.writeHead(f.status || 200, { 'content-type': f.type || 'text/html; charset=utf-8', 'content-length': buf.length });
        return res.end(buf);
      }
      return send(res, 404, { error: 'not found' });
    } catch (e) {
      if (!res.headersSent) send(res, 500, { error: String(e) });
      else res.destroy();
    }
  });
  server.on('clientError', (err, socket) => socket.destroy());
  return { server, hits, files };
}

/** Start a fake on 127.0.0.1 (port 0 = any free port). Returns { port, url(path), hits, files, close() }. */
export async function startHttpFake(port = 0) {
  const { server, hits, files } = createHttpFake();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const actual = server.address().port;
  return {
    port: actual,
    hits,
    files,
    url: (path) => `http://127.0.0.1:${actual}${path}`,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  const portFile = process.argv[2];
  if (!portFile) {
    process.stderr.write('usage: node http_fake.mjs <port-file>\n');
    process.exit(2);
  }
  const fake = await startHttpFake(0);
  fs.writeFileSync(`${portFile}.tmp`, String(fake.port));
  fs.renameSync(`${portFile}.tmp`, portFile);
  const stop = () => { fake.close().then(() => process.exit(0)); setTimeout(() => process.exit(0), 500).unref(); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
