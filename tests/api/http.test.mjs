// HTTP host: router, JSON error shape, body limit, static files and the app
// shell, /healthz against a database that goes away, the blocking pool not
// stalling the event loop, graceful stop with a request in flight, config
// errors at start-up.
// run-alone: it checks that the event loop answers within 1 s while handlers sleep.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createDatabase, startServer, cliploop, psql, freePort, startProcess, ROOT } from './lib/harness.mjs';

const ADMIN = process.env.CLIPLOOP_PG_ADMIN_URL;
let db, srv;

before(async () => {
  db = createDatabase('http');
  srv = await startServer({ dbUrl: db.url, env: { CLIPLOOP_TEST_ROUTES: 'true', CLIPLOOP_MAX_BODY_BYTES: '4096' } });
});

after(async () => {
  if (srv) await srv.stop();
  if (db) db.drop();
});

function assertErrorShape(body, code) {
  assert.equal(typeof body.error, 'object');
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
}

test('GET /api/version answers JSON', async () => {
  const r = await fetch(srv.url + '/api/version');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  const body = await r.json();
  assert.equal(body.name, 'cliploop');
  // The SDK header's version (CL_ABI_MAJOR.CL_ABI_MINOR), whatever it is now.
  const sdk = readFileSync(path.join(ROOT, 'sdk', 'cliploop_plugin.h'), 'utf8');
  const v = (name) => new RegExp(`#define ${name} (\\d+)`).exec(sdk)[1];
  assert.equal(body.abi, `${v('CL_ABI_MAJOR')}.${v('CL_ABI_MINOR')}`);
});

test('unknown API route is a JSON 404', async () => {
  const r = await fetch(srv.url + '/api/no/such/thing');
  assert.equal(r.status, 404);
  assertErrorShape(await r.json(), 'not_found');
});

test('wrong method on a known route is a JSON 405', async () => {
  const r = await fetch(srv.url + '/api/version', { method: 'DELETE' });
  assert.equal(r.status, 405);
  assertErrorShape(await r.json(), 'method_not_allowed');
});

test('router captures path parameters, decodes them, and passes query and body', async () => {
  const r = await fetch(srv.url + '/api/_test/echo/abc/h%C3%A9llo%20x?x=1&y=2', {
    method: 'POST', body: 'hello', headers: { 'user-agent': 'cliploop-test' },
  });
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.deepEqual(body.params, { a: 'abc', b: 'héllo x' });
  assert.equal(body.query, 'x=1&y=2');
  assert.equal(body.method, 'POST');
  assert.equal(body.body_bytes, 5);
  assert.equal(body.user_agent, 'cliploop-test');
  assert.equal(body.host, `127.0.0.1:${srv.port}`); // h2o keeps Host apart; handlers still see it
  // A missing segment does not match the two-parameter route.
  const r2 = await fetch(srv.url + '/api/_test/echo/abc');
  assert.equal(r2.status, 404);
  // A trailing wildcard matches any rest.
  const r3 = await fetch(srv.url + '/api/_test/files/a/b/c.txt');
  assert.equal(r3.status, 200);
  assert.equal((await r3.json()).path, '/api/_test/files/a/b/c.txt');
});

test('a body past CLIPLOOP_MAX_BODY_BYTES is refused with 413', async () => {
  const small = await fetch(srv.url + '/api/_test/echo/a/b', { method: 'POST', body: 'x'.repeat(4000) });
  assert.equal(small.status, 200);
  assert.equal((await small.json()).body_bytes, 4000);
  const big = await fetch(srv.url + '/api/_test/echo/a/b', { method: 'POST', body: 'x'.repeat(5000) });
  assert.equal(big.status, 413);
});

test('static files, the landing page, and the app shell fallback', async () => {
  const home = await fetch(srv.url + '/');
  assert.equal(home.status, 200);
  assert.match(await home.text(), /ClipLoop/);
  const css = await fetch(srv.url + '/assets/css/app.css');
  assert.equal(css.status, 200);
  assert.match(css.headers.get('content-type'), /text\/css/);
  for (const p of ['/app', '/app/create', '/app/projects/42', '/dashboard/settings']) {
    const r = await fetch(srv.url + p);
    assert.equal(r.status, 200, p);
    assert.match(r.headers.get('content-type'), /text\/html/, p);
    assert.match(await r.text(), /ClipLoop studio/, p);
  }
  const missing = await fetch(srv.url + '/nope.html');
  assert.equal(missing.status, 404);
  // /application is not the shell: prefixes match whole segments only.
  assert.equal((await fetch(srv.url + '/application')).status, 404);
});

/** GET path with accept-encoding, raw (no decompression): { status, encoding, vary, length }. */
function rawGet(path, acceptEncoding) {
  return new Promise((resolve, reject) => {
    const u = new URL(srv.url + path);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, headers: acceptEncoding ? { 'accept-encoding': acceptEncoding } : {} }, (res) => {
      let n = 0;
      res.on('data', (d) => { n += d.length; });
      res.on('end', () => resolve({ status: res.statusCode, encoding: res.headers['content-encoding'] || null, vary: res.headers.vary || '', length: n }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('CSS, JavaScript and HTML are gzip-compressed when the client accepts it, and only then', async () => {
  for (const p of ['/assets/css/app.css', '/assets/js/create.js', '/app']) {
    const plain = await rawGet(p, null);
    const gz = await rawGet(p, 'gzip, deflate');
    assert.equal(plain.status, 200, p);
    assert.equal(plain.encoding, null, `${p} uncompressed without accept-encoding`);
    assert.equal(gz.encoding, 'gzip', `${p} gzip when accepted`);
    assert.match(gz.vary, /accept-encoding/i, p);
    assert.ok(gz.length < plain.length * 0.6, `${p}: ${gz.length} of ${plain.length} bytes`);
  }
});

test('the access log records method, path and status, never the query', async () => {
  await fetch(srv.url + '/api/version?token=secret123');
  await srv.proc.waitForLog(/GET \/api\/version 200/);
  assert.doesNotMatch(srv.proc.log, /secret123/);
});

test('blocking handlers run on the pool: the event loop keeps answering', async () => {
  const slow = [1, 2, 3].map(() => fetch(srv.url + '/api/_test/sleep?ms=1500'));
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  const fast = await fetch(srv.url + '/api/version');
  const elapsed = Date.now() - t0;
  assert.equal(fast.status, 200);
  assert.ok(elapsed < 1000, `version took ${elapsed} ms while handlers slept`);
  for (const r of await Promise.all(slow)) assert.equal(r.status, 200);
});

test('/healthz is 200 with the database up and 503 while it is unreachable', async () => {
  let r = await fetch(srv.url + '/healthz');
  assert.equal(r.status, 200);
  const h = await r.json();
  assert.equal(h.status, 'ok');
  assert.equal(h.database, 'ok');
  assert.equal(typeof h.tracking.dropped, 'number', 'the click writer\'s counters are in the details');
  // Take the database away: refuse new connections and end the open ones.
  psql(ADMIN, `ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
  psql(ADMIN, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db.name}'`);
  try {
    r = await fetch(srv.url + '/healthz');
    assert.equal(r.status, 503);
    assertErrorShape(await r.json(), 'database_unavailable');
  } finally {
    psql(ADMIN, `ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
  }
  // It recovers without a restart.
  r = await fetch(srv.url + '/healthz');
  assert.equal(r.status, 200);
});

test('graceful stop: SIGTERM lets an in-flight request finish, then exits 0', async () => {
  const own = await startServer({ dbUrl: db.url, env: { CLIPLOOP_TEST_ROUTES: 'true' } });
  const inflight = fetch(own.url + '/api/_test/sleep?ms=1500').then(async (r) => ({ status: r.status, body: await r.json() }));
  await new Promise((r) => setTimeout(r, 300));
  own.proc.child.kill('SIGTERM');
  await own.proc.waitForLog(/stopping/);
  const res = await inflight;
  assert.equal(res.status, 200);
  assert.equal(res.body.slept_ms, 1500);
  const exit = await own.proc.exit;
  assert.equal(exit.code, 0);
  // After the stop nothing listens any more.
  await assert.rejects(fetch(own.url + '/api/version'));
});

test('serve refuses an unmigrated database with a clear message', async () => {
  const empty = createDatabase('unmigrated');
  try {
    const port = await freePort();
    const r = cliploop(['serve'], { DATABASE_URL: empty.url, PORT: String(port), CLIPLOOP_WORKERS: '0', CLIPLOOP_ENV_FILE: '/dev/null' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not migrated.*cliploop migrate/);
  } finally {
    empty.drop();
  }
});

test('malformed configuration fails at start and names the variable', () => {
  const base = { DATABASE_URL: db.url, CLIPLOOP_ENV_FILE: '/dev/null', CLIPLOOP_WORKERS: '0' };
  let r = cliploop(['serve'], { ...base, PORT: 'abc' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /PORT=abc is not a whole number/);
  r = cliploop(['serve'], { ...base, PORT: '70000' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /PORT=70000 is out of range/);
  r = cliploop(['serve'], { ...base, MOCK_MODE: 'maybe' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /MOCK_MODE=maybe is not a boolean/);
  r = cliploop(['serve'], { ...base, LLM_PROVIDER: 'Not A Provider' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /LLM_PROVIDER/);
  // A well-formed RENDERER that names no loaded renderer stops the start too
  // (it used to start and fail every render job instead).
  r = cliploop(['serve'], { ...base, RENDERER: 'ffmpge' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /RENDERER=ffmpge: no loaded plugin provides a renderer named 'ffmpge' \(available: [a-z_, ]*ffmpeg/);
});

test('a port already in use is a clear start-up error', async () => {
  const r = cliploop(['serve'], { ...srv.env, CLIPLOOP_TEST_ROUTES: 'false' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot listen on 127\.0\.0\.1:\d+/);
});

test('file replies stream with Content-Length and honour Range requests', async () => {
  const full = await fetch(srv.url + '/api/_test/file');
  assert.equal(full.status, 200);
  assert.equal(full.headers.get('content-type'), 'image/svg+xml');
  const body = Buffer.from(await full.arrayBuffer());
  assert.equal(Number(full.headers.get('content-length')), body.length);
  const part = await fetch(srv.url + '/api/_test/file', { headers: { range: 'bytes=5-14' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 5-14/${body.length}`);
  assert.deepEqual(Buffer.from(await part.arrayBuffer()), body.subarray(5, 15));
  const bad = await fetch(srv.url + '/api/_test/file', { headers: { range: `bytes=${body.length + 10}-` } });
  assert.equal(bad.status, 416);
  // validators: ETag and Last-Modified on every file reply; a matching If-None-Match is a 304 without a body
  const etag = full.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
  assert.ok(!Number.isNaN(Date.parse(full.headers.get('last-modified'))), full.headers.get('last-modified'));
  const again = await fetch(srv.url + '/api/_test/file', { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
  assert.equal((await again.arrayBuffer()).byteLength, 0);
  assert.equal(again.headers.get('etag'), etag);
  const other = await fetch(srv.url + '/api/_test/file', { headers: { 'if-none-match': '"0-0"' } });
  assert.equal(other.status, 200);
  const gone = await fetch(srv.url + '/api/_test/missing-file');
  assert.equal(gone.status, 404);
  assert.equal((await gone.json()).error.code, 'not_found');
});

test('graceful stop after and during keep-alive load exits cleanly', async () => {
  // wrk keeps 64 keep-alive connections busy on two event loops, inline and
  // pool routes; the server is stopped once right after a burst and once in
  // the middle of one. Neither stop may touch a loop after its thread ended.
  for (const during of [false, true]) {
    const own = await startServer({ dbUrl: db.url, env: { CLIPLOOP_HTTP_THREADS: '2', CLIPLOOP_ACCESS_LOG: 'false' } });
    for (const path of during ? ['/healthz'] : ['/api/version', '/healthz']) {
      const wrk = spawn('wrk', ['-t2', '-c64', during ? '-d4s' : '-d2s', own.url + path], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      wrk.stdout.on('data', (d) => { out += d; });
      const done = new Promise((resolve) => wrk.on('exit', resolve));
      if (during) {
        await new Promise((r) => setTimeout(r, 1500));
        own.proc.child.kill('SIGTERM');
      }
      await done;
      assert.match(out, /Requests\/sec/, out);
    }
    if (!during) own.proc.child.kill('SIGTERM');
    const exit = await own.proc.exit;
    assert.deepEqual(exit, { code: 0, signal: null }, `${during ? 'during' : 'after'} load:\n${own.proc.log.slice(-2000)}`);
  }
});
