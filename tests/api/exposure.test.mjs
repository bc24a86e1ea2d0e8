// Mock mode is for this machine: the session-less dev routes (demo log-in,
// approve-user) answer loopback only — not another address, not a request a
// proxy forwarded — and `cliploop serve` refuses MOCK_MODE on a public HOST
// unless CLIPLOOP_ALLOW_PUBLIC_MOCK=true (then it warns).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { createDatabase, startServer, cliploop, apiClient } from './lib/harness.mjs';

let db, srv;

/** A non-loopback IPv4 address of this machine, or null. */
function externalAddress() {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list || []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return null;
}

before(async () => {
  db = createDatabase('exposure');
  srv = await startServer({ dbUrl: db.url, env: { MOCK_MODE: 'true', HOST: '0.0.0.0', CLIPLOOP_ALLOW_PUBLIC_MOCK: 'true' } });
});

after(async () => {
  if (srv) await srv.stop();
  if (db) db.drop();
});

test('serve refuses MOCK_MODE on a non-loopback HOST unless CLIPLOOP_ALLOW_PUBLIC_MOCK=true', () => {
  for (const host of ['0.0.0.0', '::', '192.0.2.10', 'example.com']) {
    const r = cliploop(['serve'], { DATABASE_URL: db.url, MOCK_MODE: 'true', HOST: host, PORT: '1', CLIPLOOP_ENV_FILE: '/dev/null', CLIPLOOP_ALLOW_PUBLIC_MOCK: '' });
    assert.equal(r.status, 2, `${host}: ${r.stderr}`);
    assert.match(r.stderr, /CLIPLOOP_ALLOW_PUBLIC_MOCK=true/);
  }
  // The running server was allowed explicitly, and said so.
  assert.match(srv.proc.log, /MOCK_MODE=true on HOST=0\.0\.0\.0 \(CLIPLOOP_ALLOW_PUBLIC_MOCK=true\)/);
});

test('dev routes answer loopback only', async () => {
  const local = apiClient(srv.url);
  assert.equal((await local.demoLogin()).status, 200);
  // Forwarded by a proxy: the peer is loopback, the client is not.
  for (const h of [{ 'x-forwarded-for': '203.0.113.9' }, { forwarded: 'for=203.0.113.9' }, { 'x-real-ip': '203.0.113.9' }]) {
    const c = apiClient(srv.url);
    let r = await c.post('/api/dev/demo-login', {}, { headers: h });
    assert.equal(r.status, 403, JSON.stringify(h));
    assert.equal(r.body.error.code, 'loopback_only');
    r = await c.post('/api/dev/approve-user', { email: 'x@example.com' }, { headers: h });
    assert.equal(r.status, 403);
  }
  // From another address of this machine.
  const ext = externalAddress();
  if (ext) {
    const c = apiClient(`http://${ext}:${srv.port}`);
    const r = await c.post('/api/dev/demo-login');
    assert.equal(r.status, 403, `from ${ext}: ${r.text}`);
    assert.equal((await c.post('/api/dev/approve-user', { email: 'x@example.com' })).status, 403);
  }
});
