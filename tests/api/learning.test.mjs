// The learning loop over HTTP, with the mock LLM: analyze (free, rolled up
// first, deterministic, grounded in the week's real posts and numbers,
// stored on the cycle, rate-limited per project), generate-next (generation
// 5 charged once under concurrent and repeated retries, idempotent by
// request and by cycle, next week = week + 7 with source 'iteration' and
// parent_cycle_id, 5 posts each derived from one of last week's posts with
// parent_id and a label), and lineage across weeks with scores.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, apiClient, betaUser, psql } from './lib/harness.mjs';
import { publishedWeek, WEEK_PROJECT, WEEK_HOOKS } from './lib/weeks.mjs';

let db, srv;
const PROJECT = WEEK_PROJECT;
const HOOKS = WEEK_HOOKS;
const signedIn = (email) => betaUser(srv.url, email);
const week = (email, weekStart) => publishedWeek(srv, db.url, email, weekStart);

let A;
before(async () => {
  db = createDatabase('learn');
  srv = await startServer({ dbUrl: db.url, env: { MOCK_MODE: 'true', CLIPLOOP_ANALYZE_PER_HOUR: '3' } });
  A = await week('learn@example.com', '2026-11-23');
});
after(async () => {
  if (process.env.SHOW_LOG && srv) console.log(srv.proc.log.slice(-4000));
  if (srv) await srv.stop();
  if (db) db.drop();
});

const strip = (a) => { const { analysis_id, created_at, meta, ...rest } = a; return rest; };

test('generate-next before any analysis is 409 analysis_required, nothing charged', async () => {
  const r = await A.c.post(`/api/strategy-cycles/${A.cycleId}/generate-next`, { request_id: 'next-before-analysis' });
  assert.equal(r.status, 409, r.text);
  assert.equal(r.body.error.code, 'analysis_required');
  assert.equal(psql(db.url, `SELECT count(*) FROM credit_ledger_entries WHERE reference_key LIKE 'cycle:%:next:%'`)[0][0], '0');
});

test('analyze: rolled up first, grounded in the real posts and numbers, deterministic, stored on the cycle', async () => {
  const r = await A.c.post(`/api/strategy-cycles/${A.cycleId}/analyze`);
  assert.equal(r.status, 201, r.text);
  const a = r.body.analysis;
  // the winner is post 1 (12 clicks, 2 sign-ups, NGN 4500): the summary names it and its numbers
  assert.match(a.summary, /Jollof trays for the office/);
  assert.match(a.summary, /12 clicks/);
  assert.match(a.summary, /2 sign-ups/);
  assert.match(a.summary, /NGN 4500/);
  // hooks improved from the winners' and neutral posts' real hooks; the loser gets a new angle
  const byItem = Object.fromEntries(a.hooks.map((h) => [h.item_id, h]));
  assert.equal(byItem[A.items[0]].from, HOOKS[0]);
  assert.ok(byItem[A.items[0]].hook.includes(HOOKS[0]), byItem[A.items[0]].hook);
  assert.match(byItem[A.items[0]].hook, /2 signed up/);
  assert.equal(a.angles.length, 1);
  assert.equal(a.angles[0].item_id, A.items[3], 'post 4 (0 clicks) is the loser');
  assert.equal(a.angles[0].from, 'behind_the_scenes');
  assert.match(a.angles[0].angle, /^product/);
  assert.equal(a.items.find((i) => i.id === A.items[0]).class, 'winner');
  // five plans, each from one of last week's posts
  assert.equal(a.plans.length, 5);
  assert.deepEqual(new Set(a.plans.map((p) => p.parent_id)), new Set(A.items));
  assert.match(a.plans[0].label, /^hook improved from “Jollof trays for the office”/);
  assert.ok(a.plans.some((p) => /^new angle: product/.test(p.label)));
  // stored: the cycle's analysis and one row of cycle_analyses; the week shows it
  const w = await A.c.get(`/api/strategy-cycles/${A.cycleId}`);
  assert.equal(w.body.cycle.analysis.summary, a.summary);
  assert.equal(psql(db.url, `SELECT count(*) FROM cycle_analyses WHERE cycle_id = ${A.cycleId}`)[0][0], '1');
  // deterministic: the same week gives the same analysis
  const again = await A.c.post(`/api/strategy-cycles/${A.cycleId}/analyze`);
  assert.equal(again.status, 201);
  assert.deepEqual(strip(again.body.analysis), strip(a));
  // free: no ledger entry
  assert.equal(psql(db.url, `SELECT count(*) FROM credit_ledger_entries l JOIN users u ON u.id = l.user_id
    WHERE u.email = 'learn@example.com' AND l.reason = 'charge'`)[0][0], '0');
});

test('analyze is rate-limited per project (3 per hour here): 429 with Retry-After', async () => {
  const r3 = await A.c.post(`/api/strategy-cycles/${A.cycleId}/analyze`);
  assert.equal(r3.status, 201);
  const r4 = await A.c.post(`/api/strategy-cycles/${A.cycleId}/analyze`);
  assert.equal(r4.status, 429);
  assert.equal(r4.body.error.code, 'rate_limited');
  assert.ok(Number(r4.headers.get('retry-after')) > 0);
});

test('generate-next: charged once under concurrent and repeated retries; week + 7; 5 derived posts', async () => {
  await A.c.get('/api/create/cost'); // the month's grant is applied before the balance is read
  const [[before]] = psql(db.url, `SELECT generation_balance FROM credit_accounts WHERE user_id = ${A.uid}`);
  const body = { request_id: 'next-week-0001' };
  const url = `/api/strategy-cycles/${A.cycleId}/generate-next`;
  const rs = await Promise.all([1, 2, 3].map(() => A.c.post(url, body)));
  rs.push(await A.c.post(url, body), await A.c.post(url, body));
  const codes = rs.map((r) => r.status).sort();
  assert.deepEqual(codes, [200, 200, 200, 200, 201], rs.map((r) => r.text).join('\n'));
  const next = rs.find((r) => r.status === 201).body;
  for (const r of rs) assert.equal(r.body.cycle.id, next.cycle.id);
  assert.equal(next.cycle.week_start, '2026-11-30');
  assert.equal(next.cycle.source, 'iteration');
  assert.equal(next.cycle.parent_cycle_id, A.cycleId);
  assert.equal(next.items.length, 5);
  assert.deepEqual(new Set(next.items.map((i) => i.parent_id)), new Set(A.items));
  assert.ok(next.items.every((i) => i.derived_label && i.derived_label.length > 5));
  const w = next.items.find((i) => i.parent_id === A.items[0]);
  assert.match(w.derived_label, /hook improved from “Jollof trays for the office”/);
  assert.ok(w.hook.includes('Jollof trays for the office'), w.hook);
  const l = next.items.find((i) => i.parent_id === A.items[3]);
  assert.match(l.derived_label, /^new angle: product/);
  assert.equal(l.channel, 'whatsapp', 'the loser keeps its channel');
  // money: one debit of 5 for the request, nothing else
  const [[after]] = psql(db.url, `SELECT generation_balance FROM credit_accounts WHERE user_id = ${A.uid}`);
  assert.equal(Number(before) - Number(after), 5);
  assert.equal(psql(db.url, `SELECT count(*) FROM credit_ledger_entries WHERE reference_key = 'cycle:${A.cycleId}:next:next-week-0001'`)[0][0], '1');
  assert.equal(psql(db.url, `SELECT count(*) FROM content_items WHERE cycle_id = ${next.cycle.id}`)[0][0], '5');
  // idempotent by cycle: another request id does not make a second next week
  const other = await A.c.post(url, { request_id: 'next-week-0002' });
  assert.equal(other.status, 409);
  assert.equal(other.body.error.code, 'next_week_exists');
  assert.equal(psql(db.url, `SELECT count(*) FROM credit_ledger_entries WHERE reference_key LIKE 'cycle:${A.cycleId}:next:%'`)[0][0], '1');
  assert.equal(psql(db.url, `SELECT count(*) FROM strategy_cycles WHERE parent_cycle_id = ${A.cycleId}`)[0][0], '1');
});

test('lineage: ancestors and descendants across weeks with scores', async () => {
  const [[child]] = psql(db.url, `SELECT id FROM content_items WHERE parent_id = ${A.items[0]}`);
  const up = await A.c.get(`/api/content-items/${child}/lineage`);
  assert.equal(up.status, 200, up.text);
  assert.equal(up.body.item.id, Number(child));
  assert.equal(up.body.ancestors.length, 1);
  assert.equal(up.body.ancestors[0].id, A.items[0]);
  assert.equal(up.body.ancestors[0].class, 'winner');
  assert.ok(up.body.ancestors[0].score > 4500 * 1 , 'NGN 4500 scores 450000 minor / 100 * 100');
  assert.equal(up.body.ancestors[0].week_start, '2026-11-23');
  const down = await A.c.get(`/api/content-items/${A.items[0]}/lineage`);
  assert.equal(down.body.descendants.length, 1);
  assert.equal(down.body.descendants[0].id, Number(child));
  assert.equal(down.body.descendants[0].week_start, '2026-11-30');
  assert.equal(down.body.descendants[0].depth, 1);
  // the next week rolled up and analysed continues the chain (its own winner's descendants)
  const other = await signedIn('stranger@example.com');
  assert.equal((await other.get(`/api/content-items/${child}/lineage`)).status, 404);
  for (const p of [`/api/strategy-cycles/${A.cycleId}/analyze`, `/api/strategy-cycles/${A.cycleId}/generate-next`]) {
    const r = await other.post(p, { request_id: 'foreign-req-01' });
    assert.equal(r.status, 404, p);
  }
});

test('bad request ids are 422; a week with no posts has nothing to analyze', async () => {
  const r = await A.c.post(`/api/strategy-cycles/${A.cycleId}/generate-next`, { request_id: 'x' });
  assert.equal(r.status, 422);
  const B = await signedIn('empty@example.com');
  const p = await B.post('/api/projects', PROJECT);
  const y = await B.post(`/api/projects/${p.body.project?.id ?? p.body.id}/strategy-cycles`, {});
  const a = await B.post(`/api/strategy-cycles/${y.body.cycle.id}/analyze`);
  assert.equal(a.status, 409);
  assert.equal(a.body.error.code, 'nothing_to_analyze');
});

test('generate-next that fails at the model stores nothing and refunds the charge; a retry of that request is 409', async () => {
  // a second week analysed by the working server, then a server whose model fails
  const B = await week('fails@example.com', '2026-11-23');
  assert.equal((await B.c.post(`/api/strategy-cycles/${B.cycleId}/analyze`)).status, 201);
  const broken = await startServer({ dbUrl: db.url, migrate: false, env: { MOCK_MODE: 'true', LLM_MOCK_FAIL: 'upstream' } });
  try {
    const c = apiClient(broken.url);
    assert.equal((await c.login('fails@example.com')).status, 200);
    const r = await c.post(`/api/strategy-cycles/${B.cycleId}/generate-next`, { request_id: 'next-fails-0001' });
    assert.equal(r.status, 502, r.text);
    const ref = `cycle:${B.cycleId}:next:next-fails-0001`;
    assert.deepEqual(psql(db.url, `SELECT reason FROM credit_ledger_entries WHERE reference_key IN ('${ref}', 'refund:${ref}')
      ORDER BY id`).map((x) => x[0]), ['charge', 'refund']);
    assert.equal(psql(db.url, `SELECT count(*) FROM strategy_cycles WHERE parent_cycle_id = ${B.cycleId}`)[0][0], '0');
    assert.equal(psql(db.url, `SELECT count(*) FROM content_items WHERE request_key LIKE '${ref}%'`)[0][0], '0');
    const again = await c.post(`/api/strategy-cycles/${B.cycleId}/generate-next`, { request_id: 'next-fails-0001' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'request_already_failed');
  } finally {
    await broken.stop();
  }
  // the working server makes next week with a new request
  const ok = await B.c.post(`/api/strategy-cycles/${B.cycleId}/generate-next`, { request_id: 'next-works-0001' });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.body.items.length, 5);
});
