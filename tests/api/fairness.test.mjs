// One user cannot stall the others with free work: free chat has per-user
// limits (429 with Retry-After), and workers claim paid work before free
// work, so a render is picked up at once while another user has 1,000 free
// chat replies queued.
// run-alone: it measures how soon a paid render is claimed behind 1,000 free replies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, startServer, startProcess, apiClient, psql, demoProject } from './lib/harness.mjs';

let db, srv, queued, storage, c, projectId, chatId;
const one = (sql) => psql(db.url, sql)[0]?.[0];
let seq = 0;
const rid = () => `fair-${process.pid}-${++seq}`;

before(async () => {
  db = createDatabase('fairness');
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-fair-'));
  const env = { MOCK_MODE: 'true', CLIPLOOP_WORKERS: '0', CLIPLOOP_STORAGE_DIR: storage, CLIPLOOP_SCRYPT_LOG_N: '10' };
  srv = await startServer({ dbUrl: db.url, env: { ...env, CLIPLOOP_CHAT_FREE_PER_MINUTE: '3', CLIPLOOP_CHAT_FREE_MAX_QUEUED: '100' } });
  queued = await startServer({ dbUrl: db.url, migrate: false, env: { ...env, CLIPLOOP_CHAT_FREE_PER_MINUTE: '100', CLIPLOOP_CHAT_FREE_MAX_QUEUED: '2' } });
  c = apiClient(srv.url);
  ({ projectId } = await demoProject(c, db.url, {
    business_name: 'Femi Bikes', category: 'Bicycles', city: 'Lagos', target_audience: 'Commuters',
    primary_offer: 'Bike servicing',
  }));
  chatId = (await c.post('/api/chats', { project_id: projectId })).body.id;
});

after(async () => {
  for (const s of [srv, queued]) if (s) await s.stop();
  if (db) db.drop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

test('free chat is rate-limited per user with 429 + Retry-After; resends and paid modes are not', async () => {
  const first = rid();
  for (const id of [first, rid(), rid()]) {
    const r = await c.post(`/api/chats/${chatId}/messages`, { mode: 'chat', content: 'Any ideas?', request_id: id });
    assert.equal(r.status, 202, JSON.stringify(r.body));
  }
  const r = await c.post(`/api/chats/${chatId}/messages`, { mode: 'chat', content: 'One more?', request_id: rid() });
  assert.equal(r.status, 429, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'rate_limited');
  const ra = Number(r.headers.get('retry-after'));
  assert.ok(ra >= 1 && ra <= 60, `Retry-After ${ra}`);
  // Nothing was stored for the refused message.
  assert.equal(one(`SELECT count(*) FROM chat_jobs WHERE mode = 'chat'`), '3');
  // A resend of an accepted message is answered, not limited.
  assert.equal((await c.post(`/api/chats/${chatId}/messages`, { mode: 'chat', content: 'Any ideas?', request_id: first })).status, 200);
  // Paid generations are limited by credits, not by this.
  const paid = await c.post(`/api/chats/${chatId}/messages`, { mode: 'generate_copy', content: 'Instagram promo for servicing', request_id: rid() });
  assert.equal(paid.status, 202, JSON.stringify(paid.body));
  // Free replies queue behind paid work.
  assert.equal(one(`SELECT j.priority FROM chat_jobs cj JOIN jobs j ON j.id = cj.job_id WHERE cj.request_id = '${first}'`), '-1');
  assert.equal(one(`SELECT j.priority FROM chat_jobs cj JOIN jobs j ON j.id = cj.job_id WHERE cj.id = ${paid.body.chat_job.id}`), '0');
  // Unanswered free messages are capped too (the second server allows 2 at once).
  const q = apiClient(queued.url);
  q.cookie = c.cookie;
  q.csrf = c.csrf;
  const r2 = await q.post(`/api/chats/${chatId}/messages`, { mode: 'chat', content: 'Still there?', request_id: rid() });
  assert.equal(r2.status, 429, JSON.stringify(r2.body));
  assert.match(r2.body.error.message, /still waiting/);
});

test('a paid render is claimed before 1,000 free chat replies queued earlier by another user', async () => {
  // Another user's backlog: 1,000 free replies, queued before the render.
  psql(db.url, `INSERT INTO jobs (kind, payload, priority, run_after)
    SELECT 'chat.reply', jsonb_build_object('chat_job_id', 900000000 + g), -1, now() - interval '1 minute'
      FROM generate_series(1, 1000) g`);
  const brief = (await c.post('/api/create/brief', { project_id: projectId, prompt: 'Instagram promo for bike servicing' })).body.brief;
  const g = await c.post('/api/create/generate', { project_id: projectId, brief, request_id: rid() });
  assert.equal(g.status, 201, JSON.stringify(g.body));
  const renderJob = g.body.render.job.id;
  const w = startProcess(['worker'], { ...srv.env, CLIPLOOP_WORKER_CONCURRENCY: '1', CLIPLOOP_JOB_POLL_MS: '100' });
  const t0 = Date.now();
  try {
    await w.waitForLog(new RegExp(`claimed job ${renderJob} kind=render\\.content_item`), 30000);
    const waited = Date.now() - t0;
    const before = Number(one(`SELECT count(*) FROM job_events e JOIN jobs j ON j.id = e.job_id
      WHERE j.kind = 'chat.reply' AND e.event = 'claimed'
        AND e.at < (SELECT min(at) FROM job_events WHERE job_id = ${renderJob} AND event = 'claimed')`));
    console.log(`render claimed ${waited} ms after the worker started; free replies claimed before it: ${before}`);
    assert.ok(before <= 5, `${before} free replies were claimed before the paid render`);
  } finally {
    w.child.kill('SIGKILL');
    await w.exit;
  }
});
