// Fault suite: Postgres restarted under a running ClipLoop. On a private
// cluster this file alone uses (tests/api/lib/private_pg.mjs), so stopping it
// disturbs no other test file.
//   - while serving: requests answer 503 database_unavailable (a JSON error,
//     no hang) while the server is down, a request whose statement is cut off
//     by the shutdown too, and the very first requests after the restart
//     succeed without restarting ClipLoop (stale pooled connections are
//     noticed and reconnected, not handed to a handler);
//   - while the worker runs jobs: every job completes exactly once (one
//     claim, one attempt): an outcome that could not be written while the
//     database was down is written when it is back, not dropped to be run
//     again after its lease expires.
// run-alone: fault suite: it stops and restarts Postgres under running requests and jobs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startProcess, apiClient, cliploop, psql } from './lib/harness.mjs';
import { startPrivateCluster } from './lib/private_pg.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let pg, db, srv, c;

// A hang guard, not a timing assertion: a request that never answers fails the test.
const within = (p, what, ms = 20000) => Promise.race([p,
  sleep(ms).then(() => { throw new Error(`${what}: no answer within ${ms} ms`); })]);

before(async () => {
  pg = await startPrivateCluster('faultpg');
  db = pg.createDatabase();
  srv = await startServer({
    dbUrl: db.url,
    env: { MOCK_MODE: 'true', CLIPLOOP_WORKERS: '0', CLIPLOOP_TEST_ROUTES: 'true', CLIPLOOP_JOB_POLL_MS: '200' },
  });
  c = apiClient(srv.url);
  const r = await c.demoLogin();
  assert.equal(r.status, 200, r.text);
});

after(async () => {
  if (srv) await srv.stop();
  if (pg) pg.destroy();
});

test('while Postgres is down requests answer 503 database_unavailable, and the first requests after its restart succeed', async () => {
  // Fill the pool with idle connections: these go stale when the server restarts.
  const warm = await Promise.all(Array.from({ length: 6 }, () => c.get('/api/projects')));
  for (const w of warm) assert.equal(w.status, 200, w.text);
  const created = await c.post('/api/projects', { name: 'Before the restart', project_type: 'business' });
  assert.equal(created.status, 201, created.text);
  const projectId = created.body.project?.id ?? created.body.id;

  // A statement in flight when the server shuts down.
  const inflight = within(c.get('/api/_test/db-sleep?ms=10000'), 'in-flight request');
  await sleep(500);
  pg.stop();
  const cut = await inflight;
  assert.equal(cut.status, 503, cut.text);
  assert.equal(cut.body.error.code, 'database_unavailable');

  for (const [method, path, body] of [['GET', '/api/me'], ['GET', '/api/projects'],
    ['POST', '/api/projects', { name: 'During the outage', project_type: 'business' }],
    ['POST', '/api/auth/login', { email: 'demo@cliploop.test', password: 'not-the-password' }],
    ['GET', '/api/_test/db-sleep?ms=1']]) {
    const r = await within(c.request(method, path, body), `${method} ${path}`);
    assert.equal(r.status, 503, `${method} ${path}: ${r.text}`);
    assert.equal(r.body?.error?.code, 'database_unavailable', `${method} ${path}: ${r.text}`);
    assert.ok(r.body.error.message.length > 0);
  }
  const health = await within(fetch(srv.url + '/healthz'), '/healthz');
  assert.equal(health.status, 503);

  pg.start();
  // No retry loop: the first request of each kind must succeed.
  const me = await c.get('/api/me');
  assert.equal(me.status, 200, me.text);
  const again = await Promise.all(Array.from({ length: 6 }, () => c.get('/api/projects')));
  for (const a of again) assert.equal(a.status, 200, a.text);
  const renamed = await c.request('PATCH', `/api/projects/${projectId}`, { name: 'After the restart' });
  assert.equal(renamed.status, 200, renamed.text);
  assert.equal((await fetch(srv.url + '/healthz')).status, 200);
  // Nothing half-written by the refused create.
  const names = psql(db.url, 'SELECT name FROM projects ORDER BY id').map((r) => r[0]);
  assert.deepEqual(names, ['After the restart']);
  assert.equal(srv.proc.exited, null, 'the server kept running');
});

test('a quick restart between requests is invisible: the next requests get fresh connections', async () => {
  const warm = await Promise.all(Array.from({ length: 6 }, () => c.get('/api/projects')));
  for (const w of warm) assert.equal(w.status, 200, w.text);
  pg.stop();
  pg.start();
  // Every pooled connection is stale now; none may reach a handler.
  const next = await Promise.all(Array.from({ length: 6 }, () => within(c.get('/api/projects'), 'GET /api/projects')));
  for (const n of next) assert.equal(n.status, 200, n.text);
  assert.equal((await c.get('/api/me')).status, 200);
});

test('jobs running while Postgres restarts complete exactly once', async () => {
  const env = { ...srv.env, CLIPLOOP_WORKER_CONCURRENCY: '2', CLIPLOOP_JOB_LEASE_MS: '6000', CLIPLOOP_JOB_POLL_MS: '200' };
  const ids = [];
  for (let i = 0; i < 4; i++) {
    const r = cliploop(['jobs', 'enqueue', 'system.sleep', '{"ms":1500}', '--max-attempts', '3'], env);
    assert.equal(r.status, 0, r.stderr);
    ids.push(JSON.parse(r.stdout).id);
  }
  const w = startProcess(['worker'], env);
  try {
    // Two jobs running, then the database goes away while their handlers
    // finish: their outcomes cannot be written until it is back.
    await w.waitForLog(new RegExp(`claimed job ${ids[0]} `), 30000);
    await w.waitForLog(new RegExp(`claimed job ${ids[1]} `), 30000);
    pg.stop();
    await sleep(2500);
    pg.start();
    const end = Date.now() + 60000;
    for (;;) {
      const done = Number(psql(db.url, `SELECT count(*) FROM jobs WHERE id IN (${ids.join(',')}) AND status = 'completed'`)[0][0]);
      if (done === ids.length) break;
      if (Date.now() > end || w.exited) throw new Error(`jobs did not complete; worker log:\n${w.log}`);
      await sleep(200);
    }
    for (const id of ids) {
      const [status, attempts] = psql(db.url, `SELECT status, attempts FROM jobs WHERE id = ${id}`)[0];
      assert.equal(status, 'completed');
      assert.equal(Number(attempts), 1, `job ${id} ran ${attempts} times; worker log:\n${w.log}`);
      const events = psql(db.url, `SELECT event, count(*) FROM job_events WHERE job_id = ${id} GROUP BY event ORDER BY event`)
        .map(([e, n]) => `${e}:${n}`);
      assert.deepEqual(events.filter((e) => /^(claimed|completed|lease_expired):/.test(e)), ['claimed:1', 'completed:1'],
        `job ${id}: ${events.join(', ')}`);
    }
    assert.equal(w.exited, null, 'the worker kept running');
  } finally {
    await w.stop();
  }
});
