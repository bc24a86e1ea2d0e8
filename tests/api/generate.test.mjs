// The paid create flow: cost shown first, one billable generate that charges
// generation then render credits idempotently (double clicks and retries
// never pay twice), renders in the worker, and refunds when the work fails.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serveFresh, startServer, apiClient, psql, demoProject, waitRendered } from './lib/harness.mjs';

let db, srv, storage, c, projectId, userId;

const ledger = (where) => psql(db.url, `SELECT action, amount FROM credit_ledger_entries WHERE user_id = ${userId} ${where} ORDER BY id`)
  .map((r) => r.join(':'));

before(async () => {
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-storage-'));
  ({ db, srv } = await serveFresh('generate', { CLIPLOOP_WORKERS: '1', CLIPLOOP_STORAGE_DIR: storage, CLIPLOOP_JOB_POLL_MS: '100' }));
  c = apiClient(srv.url);
  ({ userId, projectId } = await demoProject(c, db.url, {
    business_name: 'Bola Bakes', category: 'Bakery', city: 'Ibadan', target_audience: 'Parents planning birthdays',
    primary_offer: 'Custom birthday cakes', language_style: 'mixed',
  }));
});

after(async () => {
  if (srv) await srv.stop();
  if (db) db.drop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

test('the cost is shown before anything is charged', async () => {
  const r = await c.get('/api/create/cost');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.total, { generation: 1, render: 1 });
  assert.ok(r.body.balances.generation >= 1 && r.body.balances.render >= 1, JSON.stringify(r.body));
  assert.equal(r.body.affordable, true);
  assert.deepEqual(r.body.items.map((i) => i.kind), ['generation', 'render']);
  const copyOnly = await c.get('/api/create/cost?render=0');
  assert.deepEqual(copyOnly.body.total, { generation: 1, render: 0 });
  assert.deepEqual(ledger("AND reason = 'charge'"), []);
});

test('generate charges once per request, renders, and replays on retry', async () => {
  const brief = (await c.post('/api/create/brief', { project_id: projectId, prompt: 'Instagram promo for birthday cakes, 10% off this week' })).body.brief;
  assert.ok(brief && brief.channel, 'brief');
  const body = { project_id: projectId, brief, request_id: 'req-cakes-0001' };
  // A double click: the same request twice at once.
  const [a, b] = await Promise.all([c.post('/api/create/generate', body), c.post('/api/create/generate', body)]);
  assert.ok([200, 201].includes(a.status) && [200, 201].includes(b.status), JSON.stringify([a.body, b.body]));
  assert.equal(a.body.content_item_id, b.body.content_item_id);
  assert.deepEqual(ledger("AND reason = 'charge'"), ['generate_video.copy:-1', 'generate_video.render:-1']);

  const item = await waitRendered(c, a.body.content_item_id);
  assert.equal(item.status, 'rendered', JSON.stringify(item));
  assert.equal(item.source, 'create');
  assert.ok(item.draft.caption && item.draft.cta && item.draft.hook, JSON.stringify(item.draft));
  assert.ok(item.assets.some((x) => x.kind === 'video') && item.assets.some((x) => x.kind === 'thumbnail'));

  // A retry after it finished: same item, nothing charged again.
  const again = await c.post('/api/create/generate', body);
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.body.replayed, true);
  assert.equal(again.body.content_item_id, a.body.content_item_id);
  assert.equal(again.body.receipts[0].replayed, true);
  assert.deepEqual(ledger("AND reason = 'charge'"), ['generate_video.copy:-1', 'generate_video.render:-1']);
});

test('not enough credits: 402 before any work, nothing written', async () => {
  const brief = (await c.post('/api/create/brief', { project_id: projectId, prompt: 'Cupcake promo' })).body.brief;
  psql(db.url, `UPDATE credit_accounts SET render_balance = 0 WHERE user_id = ${userId}`);
  try {
    const items = psql(db.url, 'SELECT count(*) FROM content_items')[0][0];
    const r = await c.post('/api/create/generate', { project_id: projectId, brief, request_id: 'req-cupcakes-01' });
    assert.equal(r.status, 402, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'insufficient_credits');
    assert.match(r.body.error.message, /render/);
    assert.equal(psql(db.url, 'SELECT count(*) FROM content_items')[0][0], items);
    assert.deepEqual(ledger("AND reference_key LIKE 'create:req-cupcakes-01%'"), []);
    // Copy only still works: it needs no render credit.
    const copy = await c.post('/api/create/generate', { project_id: projectId, brief, request_id: 'req-cupcakes-02', render: false });
    assert.equal(copy.status, 201, JSON.stringify(copy.body));
    assert.equal(copy.body.render, null);
    assert.deepEqual(ledger("AND reference_key LIKE 'create:req-cupcakes-02%'"), ['generate_copy:-1']);
  } finally {
    psql(db.url, `UPDATE credit_accounts SET render_balance = 5 WHERE user_id = ${userId}`);
  }
});

test('a provider failure refunds the generation credit and the request cannot be replayed for free', async () => {
  const brief = (await c.post('/api/create/brief', { project_id: projectId, prompt: 'Wedding cake promo' })).body.brief;
  const failing = await startServer({ dbUrl: db.url, migrate: false, env: { MOCK_MODE: 'true', LLM_MOCK_FAIL: 'upstream' } });
  try {
    const f = apiClient(failing.url);
    await f.demoLogin();
    const r = await f.post('/api/create/generate', { project_id: projectId, brief, request_id: 'req-wedding-001' });
    assert.equal(r.status, 502, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'llm_failed');
    assert.deepEqual(ledger("AND reference_key LIKE '%create:req-wedding-001:copy'"), ['generate_video.copy:-1', 'generate_video.copy:1']);
    assert.equal(psql(db.url, "SELECT count(*) FROM content_items WHERE request_key = 'create:req-wedding-001'")[0][0], '0');
    const retry = await f.post('/api/create/generate', { project_id: projectId, brief, request_id: 'req-wedding-001' });
    assert.equal(retry.status, 409);
    assert.equal(retry.body.error.code, 'request_already_failed');
  } finally {
    await failing.stop();
  }
  // Validation and ownership.
  let r = await c.post('/api/create/generate', { project_id: projectId, brief, request_id: 'x' });
  assert.equal(r.status, 422);
  assert.ok(r.body.error.fields.request_id);
  const other = apiClient(srv.url);
  await other.signup('mallory@example.com');
  await other.post('/api/dev/approve-user', { email: 'mallory@example.com', plan: 'beta' });
  r = await other.post('/api/create/generate', { project_id: projectId, brief, request_id: 'req-steal-0001' });
  assert.equal(r.status, 404);
});
