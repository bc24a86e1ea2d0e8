// Weekly performance over HTTP: the rollup of a cycle (people's clicks,
// unique clicks, bots apart, conversions by type, revenue per currency with
// only the project's currency scored, views where known, CTR only with
// views), its idempotency (twice = the same rows), scores and classes, the
// cycle and project performance documents with their daily series, manual
// views for manual items only, foreign ids 404, and the nightly rollup run
// by 3 workers at once: every cycle rolled up exactly once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, startProcess, apiClient, psql } from './lib/harness.mjs';

let db, srv;

const PROJECT = {
  name: 'Mama Put Kitchen', project_type: 'business', business_name: 'Mama Put Kitchen',
  category: 'Restaurant', city: 'Lagos', target_audience: 'Office workers nearby',
  primary_offer: 'Party jollof trays', preferred_channels: ['instagram', 'whatsapp'], language_style: 'english',
};
const hooks = ['Jollof trays for the office', 'Smoke you can taste', 'Friday lunch sorted', 'Meet our chef', 'Last call for trays'];

async function signedIn(email) {
  const c = apiClient(srv.url);
  assert.equal((await c.signup(email)).status, 201);
  assert.equal((await c.post('/api/dev/approve-user', { email, plan: 'beta' })).status, 200);
  return c;
}

function insertItems(userId, projectId, cycleId, strategies) {
  return strategies.map((strategy, i) => {
    const draft = { channel: 'instagram', hook: hooks[i], script: ['a', 'b'], caption: `Caption ${i + 1}`, cta: 'Order now',
      caption_hint: '', hashtags: [], variants: {}, angle: ['offer', 'product', 'social_proof', 'behind_the_scenes', 'last_call'][i] };
    const [[id]] = psql(db.url, `INSERT INTO content_items (user_id, project_id, cycle_id, position, source, channel, title,
      draft, status, publish_strategy, publish_status, published_at) VALUES (${userId}, ${projectId}, ${cycleId}, ${i + 1},
      'cycle', 'instagram', 'Post ${i + 1}', '${JSON.stringify(draft).replace(/'/g, "''")}'::jsonb, 'rendered', '${strategy}',
      'published', now()) RETURNING id`);
    return Number(id);
  });
}

/** n clicks on item at a local day offset of the cycle's week (visitor v1..). */
function clicks(item, projectId, weekStart, day, n, { bot = false, visitors = n } = {}) {
  psql(db.url, `INSERT INTO tracking_clicks (click_id, content_item_id, project_id, clicked_at, is_bot, visitor_hash)
    SELECT 'c' || md5(random()::text), ${item}, ${projectId}, ('${weekStart}'::date + ${day} + time '12:00') AT TIME ZONE 'Africa/Lagos',
      ${bot}, 'v' || ((g - 1) % ${visitors}) FROM generate_series(1, ${n}) g`);
}
function event(item, projectId, weekStart, day, kind, type, amount = null, currency = null) {
  psql(db.url, `INSERT INTO tracking_events (project_id, kind, event_type, attributed_item_id, attributed_via, amount_minor,
    currency, auth, occurred_at) VALUES (${projectId}, '${kind}', '${type}', ${item}, 'content_item', ${amount ?? 'NULL'},
    ${currency ? `'${currency}'` : 'NULL'}, 'secret_key', ('${weekStart}'::date + ${day} + time '13:00') AT TIME ZONE 'Africa/Lagos')`);
}

let owner, projectId, cycleId, weekStart, items;

before(async () => {
  db = createDatabase('perf');
  srv = await startServer({ dbUrl: db.url, env: { MOCK_MODE: 'true' } });
  owner = await signedIn('perf@example.com');
  const p = await owner.post('/api/projects', PROJECT);
  assert.equal(p.status, 201, p.text);
  projectId = p.body.project?.id ?? p.body.id;
  assert.equal((await owner.request('PATCH', `/api/projects/${projectId}`, { timezone: 'Africa/Lagos' })).status, 200);
  const y = await owner.post(`/api/projects/${projectId}/strategy-cycles`, { week_start: '2026-11-23' });
  assert.equal(y.status, 201, y.text);
  cycleId = y.body.cycle.id;
  weekStart = y.body.cycle.week_start;
  const [[uid]] = psql(db.url, "SELECT id FROM users WHERE email = 'perf@example.com'");
  items = insertItems(uid, projectId, cycleId, ['direct_instagram', 'direct_instagram', 'manual_export', 'manual_export', 'direct_instagram']);
  // item 1: 10 clicks by 4 people + 3 bots, 2 sign-ups, 1 purchase, NGN 50.00 and USD 9.99 revenue
  clicks(items[0], projectId, weekStart, 0, 6, { visitors: 3 });
  clicks(items[0], projectId, weekStart, 2, 4, { visitors: 1 });
  clicks(items[0], projectId, weekStart, 2, 3, { bot: true });
  event(items[0], projectId, weekStart, 0, 'conversion', 'signup');
  event(items[0], projectId, weekStart, 2, 'conversion', 'signup');
  event(items[0], projectId, weekStart, 2, 'conversion', 'purchase');
  event(items[0], projectId, weekStart, 2, 'revenue', 'order', 5000, 'NGN');
  event(items[0], projectId, weekStart, 3, 'revenue', 'order', 999, 'USD');
  // item 2: 5 clicks; item 3 (manual): 3 clicks; item 4: nothing; item 5: 1 click
  clicks(items[1], projectId, weekStart, 1, 5);
  clicks(items[2], projectId, weekStart, 4, 3);
  clicks(items[4], projectId, weekStart, 6, 1);
});

after(async () => {
  if (process.env.SHOW_LOG && srv) console.log(srv.proc.log.slice(-4000));
  if (srv) await srv.stop();
  if (db) db.drop();
});

const rows = () => psql(db.url, `SELECT content_item_id, clicks, unique_clicks, bot_clicks, signups, conversions,
  conversions_by_type, revenue, currency, revenue_scored_minor, views, ctr, score, class, rank
  FROM item_cycle_rollups WHERE cycle_id = ${cycleId} ORDER BY content_item_id`);
const daily = () => psql(db.url, `SELECT * FROM item_daily_rollups WHERE cycle_id = ${cycleId} ORDER BY content_item_id, day`);

test('before any rollup the performance document has the items with null metrics', async () => {
  const r = await owner.get(`/api/strategy-cycles/${cycleId}/performance`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.cycle.rolled_up_at, null);
  assert.equal(r.body.items.length, 5);
  assert.equal(r.body.items[0].score, null);
  assert.equal(r.body.days.length, 7);
  assert.equal(psql(db.url, 'SELECT count(*) FROM item_cycle_rollups')[0][0], '0', 'a read route never writes');
});

test('manual views: only for manual items; numbers only', async () => {
  let r = await owner.request('PUT', `/api/content-items/${items[2]}/views`, { views: 120, reach: 90 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.views, 120);
  assert.equal(r.body.source, 'manual');
  r = await owner.request('PUT', `/api/content-items/${items[0]}/views`, { views: 10 });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'views_from_insights');
  for (const bad of [-1, 1.5, '12', null]) {
    r = await owner.request('PUT', `/api/content-items/${items[3]}/views`, { views: bad });
    assert.equal(r.status, 422, `views ${bad}`);
    assert.equal(r.body.error.fields.views !== undefined, true);
  }
});

test('rollup: counts, the project currency scored, CTR only with views, classes; twice gives the same rows', async () => {
  const r = await owner.post(`/api/strategy-cycles/${cycleId}/rollup`);
  assert.equal(r.status, 200, r.text);
  const first = rows();
  const firstDaily = daily();
  const byId = Object.fromEntries(r.body.items.map((i) => [i.id, i]));
  const a = byId[items[0]];
  assert.equal(a.clicks, 10);
  assert.equal(a.unique_clicks, 3, 'visitors v0..v2 on day 0, v0 again on day 2: 3 distinct');
  assert.equal(a.bot_clicks, 3);
  assert.equal(a.signups, 2);
  assert.equal(a.conversions, 3);
  assert.deepEqual(a.conversions_by_type, { signup: 2, purchase: 1 });
  assert.deepEqual(a.revenue, { NGN: 5000, USD: 999 });
  assert.equal(r.body.currency, 'NGN', 'the first revenue event names the project currency');
  assert.equal(a.revenue_scored_minor, 5000, 'USD is listed, not scored');
  assert.equal(a.ctr, null, 'no views: no CTR');
  assert.equal(a.score, 50 * 100 + 2 * 20 + 10 * 2);
  assert.equal(a.class, 'winner');
  const m = byId[items[2]];
  assert.equal(m.views, 120);
  assert.equal(m.views_source, 'manual');
  assert.ok(Math.abs(m.ctr - 3 / 120) < 1e-9);
  assert.ok(Math.abs(m.score - (3 * 2 + (3 / 120) * 5)) < 1e-6);
  assert.equal(byId[items[3]].score, 0);
  assert.equal(byId[items[3]].class, 'loser');
  assert.equal(byId[items[1]].class, 'neutral');
  assert.equal(r.body.totals.clicks, 19);
  assert.equal(r.body.totals.winners, 1);
  // the daily series: 7 days, clicks where they happened (Lagos days)
  assert.deepEqual(r.body.days.map((d) => d.clicks), [6, 5, 4, 0, 3, 0, 1]);
  assert.deepEqual(r.body.days.map((d) => d.revenue_scored_minor), [0, 0, 5000, 0, 0, 0, 0]);
  // unique clicks per day 0: 3 visitors
  const d0 = r.body.item_days.find((d) => d.content_item_id === items[0] && d.day === weekStart);
  assert.equal(d0.clicks, 6);

  const again = await owner.post(`/api/strategy-cycles/${cycleId}/rollup`);
  assert.equal(again.status, 200);
  assert.deepEqual(rows(), first, 'same cycle rows');
  assert.deepEqual(daily(), firstDaily, 'same daily rows');
  assert.equal(psql(db.url, `SELECT rollup_runs FROM strategy_cycles WHERE id = ${cycleId}`)[0][0], '2');
});

test('a new click changes the next rollup (rows are replaced, not added)', async () => {
  clicks(items[4], projectId, weekStart, 6, 2);
  const r = await owner.post(`/api/strategy-cycles/${cycleId}/rollup`);
  const e = r.body.items.find((i) => i.id === items[4]);
  assert.equal(e.clicks, 3);
  assert.equal(psql(db.url, `SELECT count(*) FROM item_cycle_rollups WHERE cycle_id = ${cycleId}`)[0][0], '5');
});

test('project currency set by the owner decides what is scored', async () => {
  let r = await owner.request('PUT', `/api/projects/${projectId}/currency`, { currency: 'usd' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.currency, 'USD');
  r = await owner.post(`/api/strategy-cycles/${cycleId}/rollup`);
  const a = r.body.items.find((i) => i.id === items[0]);
  assert.equal(a.revenue_scored_minor, 999);
  assert.ok(Math.abs(a.score - (9.99 * 100 + 40 + 20)) < 1e-6);
  assert.equal((await owner.request('PUT', `/api/projects/${projectId}/currency`, { currency: 'NAIRA' })).status, 422);
  assert.equal((await owner.request('PUT', `/api/projects/${projectId}/currency`, { currency: 'NGN' })).status, 200);
  await owner.post(`/api/strategy-cycles/${cycleId}/rollup`);
});

test('project performance: per week, per item, daily series over a range; bad ranges are 422', async () => {
  const r = await owner.get(`/api/projects/${projectId}/performance?from=2026-11-16&to=2026-12-06`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.days.length, 21);
  assert.equal(r.body.weeks.length, 1);
  assert.equal(r.body.weeks[0].clicks, 21);
  assert.equal(r.body.weeks[0].revenue_scored_minor, 5000);
  assert.equal(r.body.items.length, 5);
  assert.equal(r.body.days.find((d) => d.day === weekStart).clicks, 6);
  for (const q of ['from=2026-13-01', 'from=yesterday', 'from=2026-12-06&to=2026-11-01', 'from=2024-01-01&to=2026-01-01']) {
    const b = await owner.get(`/api/projects/${projectId}/performance?${q}`);
    assert.equal(b.status, 422, q);
  }
  const def = await owner.get(`/api/projects/${projectId}/performance`);
  assert.equal(def.status, 200);
  assert.ok(def.body.days.length >= 50 && def.body.days.length <= 56);
});

test('foreign ids are 404 everywhere', async () => {
  const other = await signedIn('other@example.com');
  for (const [m, p, b] of [['POST', `/api/strategy-cycles/${cycleId}/rollup`], ['GET', `/api/strategy-cycles/${cycleId}/performance`],
    ['GET', `/api/projects/${projectId}/performance`], ['PUT', `/api/content-items/${items[2]}/views`, { views: 5 }],
    ['PUT', `/api/projects/${projectId}/currency`, { currency: 'EUR' }]]) {
    const r = await other.request(m, p, b ?? (m === 'GET' ? undefined : {}));
    assert.equal(r.status, 404, `${m} ${p}`);
  }
  assert.equal((await apiClient(srv.url).get(`/api/strategy-cycles/${cycleId}/performance`)).status, 401);
});

test('nightly rollup: 3 workers, 30 cycles, each rolled up exactly once', async () => {
  const [[uid]] = psql(db.url, "SELECT id FROM users WHERE email = 'perf@example.com'");
  psql(db.url, `WITH p AS (INSERT INTO projects (owner_id, name, project_type) SELECT ${uid}, 'N' || g, 'business'
      FROM generate_series(1, 30) g RETURNING id),
    y AS (INSERT INTO strategy_cycles (user_id, project_id, week_start) SELECT ${uid}, id, date_trunc('week', now())::date FROM p RETURNING id, project_id)
    INSERT INTO content_items (user_id, project_id, cycle_id, position, channel, draft) SELECT ${uid}, project_id, id, 1, 'instagram', '{}' FROM y`);
  const env = { ...srv.env, CLIPLOOP_SCHEDULER_TICK_MS: '50', CLIPLOOP_ROLLUP_INTERVAL_MS: '50' };
  const workers = [0, 1, 2].map(() => startProcess(['worker'], env));
  try {
    for (const w of workers) await w.waitForLog(/scheduler running/);
    const end = Date.now() + 20000;
    for (;;) {
      const [[left]] = psql(db.url, `SELECT count(*) FROM strategy_cycles WHERE rolled_up_day IS NULL AND week_start = date_trunc('week', now())::date`);
      if (left === '0' || Date.now() > end) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1000)); // more ticks: nobody may roll up again today
  } finally {
    for (const w of workers) await w.stop();
  }
  const runs = psql(db.url, `SELECT rollup_runs, count(*) FROM strategy_cycles WHERE week_start = date_trunc('week', now())::date
    AND project_id <> ${projectId} GROUP BY 1`);
  assert.deepEqual(runs, [['1', '30']], 'every cycle exactly once');
  assert.equal(psql(db.url, `SELECT count(*) FROM item_cycle_rollups r JOIN strategy_cycles y ON y.id = r.cycle_id
    WHERE y.week_start = date_trunc('week', now())::date`)[0][0], '30');
  // the old cycle (2026-11-23) is more than 5 weeks back or not: either way its runs only grew by nightly once at most
});
