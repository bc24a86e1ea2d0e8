// Money under concurrency: the paid steps of one generate (copy + render)
// are charged together or not at all, so an account whose render credits run
// out never keeps a generation credit without a result; two identical
// requests at once call the LLM once; a retry converges.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, apiClient, psql, demoProject } from './lib/harness.mjs';
import { startLlmFake } from '../fakes/llm_fake.mjs';

let db, srv, c, projectId, userId, brief;

const one = (sql) => psql(db.url, sql)[0][0];
const sum = (where) => Number(one(`SELECT coalesce(sum(amount), 0) FROM credit_ledger_entries WHERE user_id = ${userId} AND ${where}`));
const count = (where) => Number(one(`SELECT count(*) FROM credit_ledger_entries WHERE user_id = ${userId} AND ${where}`));

before(async () => {
  db = createDatabase('money');
  // No worker: renders stay queued; this file is about what is charged, so
  // the per-user limit of provider calls (429 beyond it; llm_fairness.test)
  // is raised to let all 30 concurrent requests reach the charging step.
  srv = await startServer({ dbUrl: db.url, env: { MOCK_MODE: 'true', CLIPLOOP_WORKERS: '0', CLIPLOOP_LLM_PER_USER: '32' } });
  c = apiClient(srv.url);
  ({ userId, projectId } = await demoProject(c, db.url, {
    business_name: 'Tola Shoes', category: 'Footwear', city: 'Abuja', target_audience: 'Students',
    primary_offer: 'Handmade leather sandals',
  }));
  brief = (await c.post('/api/create/brief', { project_id: projectId, prompt: 'Instagram promo for sandals, 2 for 1 this weekend' })).body.brief;
  assert.ok(brief && brief.channel, 'brief');
});

after(async () => {
  if (srv) await srv.stop();
  if (db) db.drop();
});

// The plan allows 5 posts a week, so render credits run out first here: 3.
test('30 concurrent generate+render requests on 40/3 credits: 3 results, 27 × 402 with nothing kept', async () => {
  assert.equal((await c.get('/api/create/cost')).status, 200); // the month's grant is applied
  psql(db.url, `UPDATE credit_accounts SET generation_balance = 40, render_balance = 3 WHERE user_id = ${userId}`);
  const ids = Array.from({ length: 30 }, (_, i) => `conc-${process.pid}-${String(i).padStart(2, '0')}`);
  const replies = await Promise.all(ids.map((id) => c.post('/api/create/generate', { project_id: projectId, brief, request_id: id })));
  const statuses = replies.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 201).length, 3, JSON.stringify(statuses));
  assert.equal(statuses.filter((s) => s === 402).length, 27, JSON.stringify(statuses));
  for (const r of replies.filter((x) => x.status === 402)) {
    assert.equal(r.body.error.code, 'insufficient_credits');
    assert.equal(r.body.error.kind, 'render');
  }
  // Ledger: exactly 3 generation and 3 render debits kept, no refunds needed.
  assert.equal(count("action = 'generate_video.copy' AND reason = 'charge'"), 3);
  assert.equal(count("action = 'generate_video.render' AND reason = 'charge'"), 3);
  assert.equal(count("reason = 'refund'"), 0);
  assert.equal(sum("kind = 'generation' AND reference_key LIKE 'create:conc-%'"), -3);
  assert.deepEqual(psql(db.url, `SELECT generation_balance, render_balance FROM credit_accounts WHERE user_id = ${userId}`)[0], ['37', '0']);
  // Every request that answered 402 holds nothing; every 201 has its render queued.
  // (one query for all 30: thirty psql runs take long enough on a busy
  // machine for the server to close the client's idle keep-alive connections)
  const nets = new Map(psql(db.url, `SELECT substring(reference_key FROM 'create:(conc-[^:]*):'), sum(amount)
    FROM credit_ledger_entries WHERE user_id = ${userId} AND reference_key LIKE '%create:conc-%' GROUP BY 1`));
  ids.forEach((id, i) => {
    assert.equal(Number(nets.get(id) ?? 0), replies[i].status === 201 ? -2 : 0, `${id}: ${replies[i].status}`);
  });
  assert.equal(one("SELECT count(*) FROM content_items WHERE request_key LIKE 'create:conc-%'"), '3');
  assert.equal(one("SELECT count(*) FROM content_items WHERE request_key LIKE 'create:conc-%' AND (render_seq = 0 OR status <> 'rendering')"), '0');
  // A retry of a refused request converges: still 402, still nothing kept.
  const failedId = ids[statuses.indexOf(402)];
  const retry = await c.post('/api/create/generate', { project_id: projectId, brief, request_id: failedId });
  assert.equal(retry.status, 402, JSON.stringify(retry.body));
  assert.equal(sum(`reference_key LIKE '%create:${failedId}:%'`), 0);
  // ... and once credits are there, the retry gets the full result.
  psql(db.url, `UPDATE credit_accounts SET render_balance = 1 WHERE user_id = ${userId}`);
  const paid = await c.post('/api/create/generate', { project_id: projectId, brief, request_id: failedId });
  assert.equal(paid.status, 201, JSON.stringify(paid.body));
  assert.equal(paid.body.render.already_rendering, false);
  assert.deepEqual(paid.body.receipts.map((r) => [r.action, r.amount, r.replayed]),
    [['generate_video.copy', -1, false], ['generate_video.render', -1, false]]);
  assert.equal(sum(`reference_key LIKE '%create:${failedId}:%'`), -2);
});

test('two identical requests at once: one LLM call, one item, one charge per step', async () => {
  const fake = await startLlmFake();
  const slow = await startServer({
    dbUrl: db.url, migrate: false,
    env: { MOCK_MODE: 'true', CLIPLOOP_WORKERS: '0', LLM_PROVIDER: 'openai_compat', OPENAI_COMPAT_BASE_URL: fake.baseUrl,
      OPENAI_COMPAT_API_KEY: 'test-key', OPENAI_COMPAT_MODEL: 'fake-draft-slow-1500', CLIPLOOP_HTTP_ALLOW_LOOPBACK: 'true' },
  });
  try {
    psql(db.url, `UPDATE credit_accounts SET generation_balance = 5, render_balance = 5 WHERE user_id = ${userId}`);
    const s = apiClient(slow.url);
    s.cookie = c.cookie;
    s.csrf = c.csrf;
    const body = { project_id: projectId, brief, request_id: `twin-${process.pid}` };
    const [a, b] = await Promise.all([s.post('/api/create/generate', body), s.post('/api/create/generate', body)]);
    assert.deepEqual([a.status, b.status].sort(), [200, 201], JSON.stringify([a.body, b.body]));
    assert.equal(a.body.content_item_id, b.body.content_item_id);
    const calls = fake.requests.filter((r) => r.path === '/v1/chat/completions').length;
    assert.equal(calls, 1, `the LLM was called ${calls} times`);
    assert.equal(count(`reference_key LIKE 'create:twin-${process.pid}:%' AND reason = 'charge'`), 2);
    assert.equal(one(`SELECT count(*) FROM content_items WHERE request_key = 'create:twin-${process.pid}'`), '1');
  } finally {
    await slow.stop();
    await fake.close();
  }
});
