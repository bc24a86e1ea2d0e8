// Dead letters: a paid job whose every attempt dies by lease expiry (the
// worker is SIGKILLed, so its handler never runs a failure path) is refunded
// and its content item / chat job moves to a failed state the user can retry
// from, instead of staying "rendering" forever with the credit kept.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startMockServer, startProcess, apiClient, psql, demoProject, until } from './lib/harness.mjs';

let db, srv, storage, c, projectId, userId, env, world;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const one = (sql) => psql(db.url, sql)[0]?.[0];
const net = (like) => Number(one(`SELECT coalesce(sum(amount), 0) FROM credit_ledger_entries WHERE user_id = ${userId}
  AND (reference_key LIKE '${like}' OR reference_key LIKE 'refund:${like}')`));
const reasons = (like) => psql(db.url, `SELECT reason || ':' || amount FROM credit_ledger_entries WHERE user_id = ${userId}
  AND (reference_key LIKE '${like}' OR reference_key LIKE 'refund:${like}') ORDER BY id`).map((r) => r[0]);

/** Start a worker, wait until it claims attempt `attempt` of job `jobId`, then SIGKILL it. */
async function killOnClaim(jobId, kind, attempt, extraEnv = {}, afterClaim = async () => {}) {
  const w = startProcess(['worker'], { ...env, ...extraEnv });
  try {
    await w.waitForLog(new RegExp(`claimed job ${jobId} kind=${kind.replace('.', '\\.')} attempt=${attempt}/2`), 30000);
    await afterClaim();
  } finally {
    w.child.kill('SIGKILL');
    await w.exit;
  }
}

before(async () => {
  world = await startMockServer('deadletter', {
    storage: true,
    env: { CLIPLOOP_WORKERS: '0', CLIPLOOP_JOB_POLL_MS: '100', CLIPLOOP_JOB_LEASE_MS: '1000', CLIPLOOP_JOB_MAX_ATTEMPTS: '2',
      CLIPLOOP_WORKER_CONCURRENCY: '1' },
  });
  ({ db, srv, storage } = world);
  env = srv.env;
  c = apiClient(srv.url);
  ({ userId, projectId } = await demoProject(c, db.url, {
    business_name: 'Kemi Plants', category: 'Plants', city: 'Lagos', target_audience: 'Apartment dwellers',
    primary_offer: 'Low-light house plants',
  }));
  assert.equal((await c.get('/api/create/cost')).status, 200);
  psql(db.url, `UPDATE credit_accounts SET generation_balance = 10, render_balance = 10 WHERE user_id = ${userId}`);
});

after(() => world?.stop());

test('a render killed on every attempt is refunded and can be rendered again', async () => {
  const brief = (await c.post('/api/create/brief', { project_id: projectId, prompt: 'Snake plant promo for Instagram' })).body.brief;
  const rid = `dl-render-${process.pid}`;
  const g = await c.post('/api/create/generate', { project_id: projectId, brief, request_id: rid });
  assert.equal(g.status, 201, JSON.stringify(g.body));
  const itemId = g.body.content_item_id;
  const jobId = g.body.render.job.id;

  await killOnClaim(jobId, 'render.content_item', 1);
  await killOnClaim(jobId, 'render.content_item', 2);
  // Both attempts died inside the handler: the item still says rendering.
  assert.equal(one(`SELECT status FROM content_items WHERE id = ${itemId}`), 'rendering');

  const w = startProcess(['worker'], env);
  try {
    await until('the dead letter', () => one(`SELECT dead_lettered_at IS NOT NULL FROM jobs WHERE id = ${jobId}`) === 't');
    assert.equal(one(`SELECT status FROM jobs WHERE id = ${jobId}`), 'dead');
    assert.deepEqual(psql(db.url, `SELECT event FROM job_events WHERE job_id = ${jobId} AND event IN ('lease_expired', 'dead') ORDER BY id`).map((r) => r[0]),
      ['lease_expired', 'lease_expired', 'dead']);
    const item = (await c.get(`/api/content-items/${itemId}`)).body;
    assert.equal(item.status, 'render_failed', JSON.stringify(item));
    assert.match(item.render_error, /stopped without finishing/);
    assert.deepEqual(reasons(`create:${rid}:render`), ['charge:-1', 'refund:1']);
    assert.equal(net(`create:${rid}:%`), -1); // the copy (the item's draft) is kept; the render is refunded
    // The user renders again: a new render, a new charge, not "already rendering".
    const again = await c.post(`/api/content-items/${itemId}/render`);
    assert.equal(again.status, 202, JSON.stringify(again.body));
    assert.equal(again.body.already_rendering, false);
    assert.notEqual(again.body.job.id, jobId);
    assert.equal(again.body.receipt.amount, -1);
  } finally {
    w.child.kill('SIGKILL');
    await w.exit;
    // Retire the new render (pending or half-run) so the next test's
    // workers do not spend their one runner on it.
    psql(db.url, `UPDATE jobs SET status = 'failed', lease_until = NULL, finished_at = now(), dead_lettered_at = now()
      WHERE kind = 'render.content_item' AND id <> ${jobId} AND status IN ('pending', 'running')`);
  }
});

test('a chat generate_video killed mid-generation is refunded and failed; its render killed twice fails the chat job', async () => {
  const chat = (await c.post('/api/chats', { project_id: projectId })).body.id;
  const r = await c.post(`/api/chats/${chat}/messages`, { mode: 'generate_video', content: 'A video for our ZZ plant sale', request_id: `dl-chat-${process.pid}` });
  assert.ok([201, 202].includes(r.status), JSON.stringify(r.body));
  const id = r.body.chat_job.id;
  const durable = one(`SELECT job_id FROM chat_jobs WHERE id = ${id}`);

  // Attempt 1 dies after the charges, inside the (slow) draft call; attempt 2 too.
  const slow = { LLM_MOCK_DELAY_MS: '2500' };
  await killOnClaim(durable, 'chat.reply', 1, slow,
    () => until('the charges', () => net(`chat_job:${id}:%`) === -2, 20000));
  await killOnClaim(durable, 'chat.reply', 2, slow, () => sleep(300));
  assert.equal(net(`chat_job:${id}:%`), -2); // the bug: both credits kept, nothing produced
  assert.equal(one(`SELECT status FROM chat_jobs WHERE id = ${id}`), 'running');

  let w = startProcess(['worker'], env);
  try {
    await until('the dead letter', () => one(`SELECT dead_lettered_at IS NOT NULL FROM jobs WHERE id = ${durable}`) === 't');
  } finally {
    await w.stop();
  }
  assert.equal(net(`chat_job:${id}:%`), 0);
  assert.deepEqual(reasons(`chat_job:${id}:%`), ['charge:-1', 'charge:-1', 'refund:1', 'refund:1']);
  let job = (await c.get(`/api/chat-jobs/${id}`)).body.chat_job;
  assert.equal(job.status, 'failed', JSON.stringify(job));
  assert.equal(job.can_retry, true);
  const thread = (await c.get(`/api/chats/${chat}/messages`)).body.messages;
  const reply = thread.find((m) => m.chat_job_id === id && m.role === 'assistant');
  assert.match(reply.content, /refunded/);
  assert.doesNotMatch(reply.content, /Nothing was charged/);

  // Retry: the reply runs (new ledger reference :r1), then its render dies twice.
  const retry = await c.post(`/api/chat-jobs/${id}/retry`);
  assert.equal(retry.status, 202, JSON.stringify(retry.body));
  w = startProcess(['worker'], env);
  let renderJob;
  try {
    renderJob = await until('the render job', () => one(`SELECT render_job_id FROM content_items WHERE request_key = 'chat_job:${id}:r1'`), 30000);
    await w.waitForLog(new RegExp(`claimed job ${renderJob} kind=render\\.content_item attempt=1/2`), 30000);
  } finally {
    w.child.kill('SIGKILL');
    await w.exit;
  }
  await killOnClaim(renderJob, 'render.content_item', 2);
  assert.equal(one(`SELECT status FROM chat_jobs WHERE id = ${id}`), 'rendering');
  w = startProcess(['worker'], env);
  try {
    await until('the render dead letter', () => one(`SELECT dead_lettered_at IS NOT NULL FROM jobs WHERE id = ${renderJob}`) === 't');
  } finally {
    w.child.kill('SIGKILL');
    await w.exit;
  }
  assert.equal(one(`SELECT status FROM chat_jobs WHERE id = ${id}`), 'failed');
  job = (await c.get(`/api/chat-jobs/${id}`)).body.chat_job;
  assert.equal(job.can_retry, true);
  assert.deepEqual(reasons(`chat_job:${id}:r1:render`), ['charge:-1', 'refund:1']);
  assert.equal(net(`chat_job:${id}:r1:%`), -1); // the copy (its draft exists) is kept
});
