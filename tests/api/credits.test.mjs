// Credits over HTTP: monthly grants on first use, charges through the host's
// charge path (test route), idempotent replays, 402 insufficient_credits,
// refunds, transactions paging newest first, usage reporting, and that no
// user can read another user's credits, usage or transactions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, psql, apiClient } from './lib/harness.mjs';

let db, srv;

before(async () => {
  db = createDatabase('credits');
  srv = await startServer({ dbUrl: db.url,
    env: { MOCK_MODE: 'true', CLIPLOOP_TEST_ROUTES: 'true', CLIPLOOP_SCRYPT_LOG_N: '10' } });
});

after(async () => {
  if (srv) await srv.stop();
  if (db) db.drop();
});

/** A signed-up, beta-approved user. */
async function betaUser(email) {
  const u = apiClient(srv.url);
  assert.equal((await u.signup(email)).status, 201);
  assert.equal((await apiClient(srv.url).post('/api/dev/approve-user', { email, plan: 'beta' })).status, 200);
  return u;
}

const charge = (u, action, key) => u.post('/api/_test/credits/charge', { action, reference_key: key });

function assertReceipt(r) {
  for (const f of ['id', 'action', 'kind', 'reason', 'amount', 'balances_after', 'reference_key', 'created_at']) {
    assert.ok(f in r, `receipt lacks ${f}`);
  }
  assert.equal(typeof r.balances_after.generation, 'number');
  assert.equal(typeof r.balances_after.render, 'number');
}

test('the plan endpoint lists limits, grants and costs from the policy', async () => {
  const u = await betaUser('plan@example.com');
  const r = await u.get('/api/me/plan');
  assert.equal(r.status, 200);
  assert.equal(r.body.plan.id, 'beta');
  assert.equal(r.body.limits.posts_per_week, 5);
  assert.equal(r.body.limits.posts_per_month, 20);
  assert.equal(r.body.limits.regenerations_per_week, 3);
  assert.equal(r.body.limits.renders_per_month, 20);
  assert.equal(r.body.limits.publishes_per_month, 20);
  assert.equal(r.body.limits.connected_channels, 1);
  assert.equal(r.body.limits.active_projects, 1);
  const cost = Object.fromEntries(r.body.costs.map((c) => [c.action, [c.kind, c.cost]]));
  assert.deepEqual(cost['generate_copy'], ['generation', 1]);
  assert.deepEqual(cost['strategy_cycle.posts'], ['generation', 5]);
  assert.deepEqual(cost['content_item.render'], ['render', 1]);
  assert.deepEqual(cost['export.bundle'], ['none', 0]);
  assert.equal(r.body.subscription, null);
});

test('the month grant arrives once per plan and window; approval tops it up; balances are ledger sums', async () => {
  const u = apiClient(srv.url);
  assert.equal((await u.signup('grant@example.com')).status, 201);
  const free = (await u.get('/api/me/plan')).body.monthly_grants;
  const c0 = (await u.get('/api/me/credits')).body;
  assert.equal(c0.generation.balance, free.generation);
  assert.equal(c0.render.balance, free.render);
  assert.match(c0.granted_month, /^\d{4}-\d{2}-01$/);
  assert.equal((await apiClient(srv.url).post('/api/dev/approve-user', { email: 'grant@example.com', plan: 'beta' })).status, 200);
  const beta = (await u.get('/api/me/plan')).body.monthly_grants;
  assert.ok(beta.generation > free.generation);
  const c1 = await u.get('/api/me/credits');
  assert.equal(c1.status, 200);
  assert.equal(c1.body.generation.balance, beta.generation);
  assert.equal(c1.body.render.balance, beta.render);
  assert.equal(c1.body.generation.monthly_grant, beta.generation);
  // Concurrent reads in the same window grant nothing more.
  await Promise.all(Array.from({ length: 10 }, () => u.get('/api/me/credits')));
  const c2 = await u.get('/api/me/credits');
  assert.deepEqual(c2.body, c1.body);
  const [[gen, ren]] = psql(db.url, `SELECT generation_balance, render_balance FROM credit_accounts a
    JOIN users u ON u.id = a.user_id WHERE u.email = 'grant@example.com'`);
  assert.equal(c1.body.generation.balance, Number(gen));
  assert.equal(c1.body.render.balance, Number(ren));
  const t = await u.get('/api/me/transactions');
  const grants = t.body.items.filter((i) => i.reason === 'monthly_grant');
  assert.equal(grants.length, 4); // free's grant, then beta's top-up, for each kind
  for (const g of grants) assertReceipt(g);
  assert.ok(grants.some((g) => /^grant:\d{4}-\d{2}:beta:generation$/.test(g.reference_key)));
  const sum = t.body.items.filter((i) => i.kind === 'generation').reduce((a, i) => a + i.amount, 0);
  assert.equal(sum, c1.body.generation.balance);
});

test('a charge debits once; a retry with the same key replays the same receipt', async () => {
  const u = await betaUser('charge@example.com');
  const before = (await u.get('/api/me/credits')).body.generation.balance;
  const r1 = await charge(u, 'generate_copy', 'chat_job:1:copy');
  assert.equal(r1.status, 201, r1.text);
  assertReceipt(r1.body.receipt);
  assert.equal(r1.body.receipt.amount, -1);
  assert.equal(r1.body.receipt.replayed, false);
  assert.equal(r1.body.receipt.balances_after.generation, before - 1);
  const replays = await Promise.all(Array.from({ length: 10 }, () => charge(u, 'generate_copy', 'chat_job:1:copy')));
  for (const r of replays) {
    assert.equal(r.status, 200);
    assert.equal(r.body.receipt.replayed, true);
    assert.deepEqual({ ...r.body.receipt, replayed: false }, r1.body.receipt);
  }
  assert.equal((await u.get('/api/me/credits')).body.generation.balance, before - 1);
  // The same key for another action is a conflict.
  const conflict = await charge(u, 'regenerate', 'chat_job:1:copy');
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.error.code, 'reference_key_conflict');
  // Unknown action / bad key: 422.
  assert.equal((await charge(u, 'make_money', 'k:1')).status, 422);
  assert.equal((await charge(u, 'regenerate', 'has space')).status, 422);
  // Refund: compensates once.
  const rf = await u.post('/api/_test/credits/refund', { reference_key: 'chat_job:1:copy' });
  assert.equal(rf.status, 201);
  assert.equal(rf.body.receipt.amount, 1);
  assert.equal(rf.body.receipt.reason, 'refund');
  assert.equal((await u.post('/api/_test/credits/refund', { reference_key: 'chat_job:1:copy' })).status, 200);
  assert.equal((await u.get('/api/me/credits')).body.generation.balance, before);
});

test('a charge the balance cannot cover is 402 insufficient_credits and debits nothing', async () => {
  const u = await betaUser('broke@example.com');
  const bal = (await u.get('/api/me/credits')).body.render.balance;
  for (let i = 0; i < bal; i++) assert.equal((await charge(u, 'content_item.render', `item:${i}:render`)).status, 201);
  const r = await charge(u, 'content_item.render', 'item:last:render');
  assert.equal(r.status, 402);
  assert.equal(r.body.error.code, 'insufficient_credits');
  assert.equal(r.body.error.needed, 1);
  assert.equal(r.body.error.available, 0);
  assert.equal(r.body.error.kind, 'render');
  assert.match(r.body.error.message, /needs 1/);
  assert.equal((await u.get('/api/me/credits')).body.render.balance, 0);
  const [[n]] = psql(db.url, "SELECT count(*) FROM credit_ledger_entries WHERE reference_key = 'item:last:render'");
  assert.equal(n, '0');
  // Free actions still work with an empty balance.
  const free = await charge(u, 'export.bundle', 'export:1');
  assert.equal(free.status, 201);
  assert.equal(free.body.receipt.amount, 0);
});

test('usage counts charges in week and month windows', async () => {
  const u = await betaUser('usage@example.com');
  assert.equal((await charge(u, 'strategy_cycle.posts', 'cycle:1')).status, 201);
  assert.equal((await charge(u, 'regenerate', 'regen:1')).status, 201);
  const r = await u.get('/api/me/usage');
  assert.equal(r.status, 200);
  assert.equal(r.body.week.metrics.posts_generated.used, 5);
  assert.equal(r.body.week.metrics.posts_generated.remaining, 0);
  assert.equal(r.body.month.metrics.posts_generated.used, 5);
  assert.equal(r.body.month.metrics.posts_generated.limit, 20);
  assert.equal(r.body.week.metrics.regenerations.used, 1);
  assert.equal(r.body.week.metrics.regenerations.remaining, 2);
  assert.equal(r.body.month.metrics.renders.used, 0);
  assert.match(r.body.week.start, /^\d{4}-\d{2}-\d{2}$/);
  // Usage never blocks: a sixth post this week still charges.
  assert.equal((await charge(u, 'generate_copy', 'copy:after-limit')).status, 201);
});

test('transactions are newest first and page with next_before', async () => {
  const u = await betaUser('pages@example.com');
  for (let i = 0; i < 5; i++) assert.equal((await charge(u, 'generate_copy', `page:${i}`)).status, 201);
  const all = (await u.get('/api/me/transactions?limit=100')).body.items;
  const ids = all.map((i) => i.id);
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a));
  assert.equal(all[0].reference_key, 'page:4');
  const seen = [];
  let next = null;
  do {
    const r = await u.get('/api/me/transactions?limit=2' + (next ? `&before=${next}` : ''));
    assert.equal(r.status, 200);
    assert.ok(r.body.items.length <= 2);
    seen.push(...r.body.items.map((i) => i.id));
    next = r.body.next_before;
  } while (next);
  assert.deepEqual(seen, ids);
  const bad = await u.get('/api/me/transactions?limit=0');
  assert.equal(bad.status, 422);
  assert.ok(bad.body.error.fields.limit);
  assert.equal((await u.get('/api/me/transactions?before=abc')).status, 422);
});

test('a waitlisted user cannot charge (product gate) but can read their own plan', async () => {
  const u = apiClient(srv.url);
  assert.equal((await u.signup('waiting@example.com')).status, 201);
  const r = await charge(u, 'generate_copy', 'w:1');
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'waitlisted');
  assert.equal((await u.get('/api/me/plan')).body.plan.id, 'free');
});

test('a user cannot read another user\'s credits, usage or transactions', async () => {
  const a = await betaUser('alice@example.com');
  const b = await betaUser('bob@example.com');
  assert.equal((await charge(a, 'strategy_cycle.posts', 'alice:secret:cycle')).status, 201);
  const aliceIds = psql(db.url, `SELECT l.id FROM credit_ledger_entries l JOIN users u ON u.id = l.user_id
    WHERE u.email = 'alice@example.com'`).map((r) => Number(r[0]));
  const [[aliceId]] = psql(db.url, "SELECT id FROM users WHERE email = 'alice@example.com'");
  assert.ok(aliceIds.length >= 3);
  // Bob's view, including attempts to name Alice in the query string.
  for (const q of ['', `?user_id=${aliceId}`, `?limit=100&before=${Math.max(...aliceIds) + 1}&user_id=${aliceId}`]) {
    const t = await b.get('/api/me/transactions' + q);
    assert.equal(t.status, 200);
    for (const item of t.body.items) {
      assert.ok(!aliceIds.includes(item.id), 'bob sees an alice ledger row');
      assert.ok(!item.reference_key.startsWith('alice:'));
    }
    const u = await b.get('/api/me/usage' + q);
    assert.equal(u.body.week.metrics.posts_generated.used, 0);
  }
  const ca = (await a.get('/api/me/credits')).body, cb = (await b.get('/api/me/credits')).body;
  assert.equal(cb.generation.balance - ca.generation.balance, 5);
  // Bob cannot refund or replay Alice's charge key into his account.
  const rf = await b.post('/api/_test/credits/refund', { reference_key: 'alice:secret:cycle' });
  assert.equal(rf.status, 404);
  const [[aliceBal]] = psql(db.url, `SELECT generation_balance FROM credit_accounts WHERE user_id = ${Number(aliceId)}`);
  assert.equal(Number(aliceBal), ca.generation.balance);
});

test('read routes write nothing once the month\'s grant is in (no row lock, no update per GET)', async () => {
  const c = await betaUser('reads-only@example.com');
  assert.equal((await c.get('/api/me')).status, 200); // the first read applies the month's grant
  const uid = psql(db.url, "SELECT id FROM users WHERE email = 'reads-only@example.com'")[0][0];
  // xmax changes whenever a transaction locks or updates the row.
  const row = () => psql(db.url, `SELECT xmax::text, updated_at::text FROM credit_accounts WHERE user_id = ${uid}`)[0].join('|');
  const grants = () => psql(db.url, `SELECT count(*) FROM credit_ledger_entries WHERE user_id = ${uid}`)[0][0];
  const before = row(), entries = grants();
  for (let i = 0; i < 5; i++) {
    assert.equal((await c.get('/api/me')).status, 200);
    assert.equal((await c.get('/api/me/credits')).status, 200);
  }
  assert.equal(row(), before);
  assert.equal(grants(), entries);
});
