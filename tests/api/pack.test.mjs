// A week's pack over HTTP: generate-posts (generation 5, 5 grounded posts
// from at most 2 model calls, channels spread over the project's preferred
// channels, idempotent by request_id and by cycle, replace:true charged
// again, no partial pack: 5 posts or a refund), the plan limits (429,
// nothing charged), insufficient credits (402, nothing charged),
// regenerate (generation 1, lineage, 3 per week), PATCH (channel switch
// re-applies the channel's rules without a model call, hand edits checked
// against the rules: 422 naming the rule), and render-all (render 1 per
// item not rendered yet, once; a failed render refunded).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, startServer, apiClient, betaUser, psql, RENDER_WAIT_MS } from './lib/harness.mjs';
import { startLlmFake } from '../fakes/llm_fake.mjs';

let db, srv, storage;

const PROJECT = {
  name: 'Bola Bakes', project_type: 'business', business_name: 'Bola Bakes', category: 'Bakery',
  city: 'Ibadan', target_audience: 'Families planning birthdays', primary_offer: 'Custom birthday cakes',
  preferred_channels: ['instagram', 'whatsapp'], language_style: 'english', timezone: 'Africa/Lagos',
};
const BRIEF = 'Free delivery on birthday cakes this weekend';

const signedIn = (email) => betaUser(srv.url, email);

async function week(c, project = PROJECT, weekStart) {
  const p = await c.post('/api/projects', project);
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const pid = p.body.project?.id ?? p.body.id;
  const y = await c.post(`/api/projects/${pid}/strategy-cycles`, weekStart ? { week_start: weekStart } : {});
  assert.ok(y.status === 201 || y.status === 200, JSON.stringify(y.body));
  return { pid, cycle: y.body.cycle };
}

const balance = async (c) => (await c.get('/api/me/credits')).body;
const gen = async (c) => (await balance(c)).generation.balance;
const rnd = async (c) => (await balance(c)).render.balance;
const patch = (c, p, body) => c.request('PATCH', p, body);
const ledger = (email, like) => psql(db.url, `SELECT l.reason, l.amount, l.reference_key FROM credit_ledger_entries l
  JOIN users u ON u.id = l.user_id WHERE u.email = '${email}' AND l.reference_key LIKE '${like}' ORDER BY l.id`);
/** Pretend the user's charges so far were made last week (the ledger trigger is lifted for the test only). */
function ageCharges(email) {
  psql(db.url, `ALTER TABLE credit_ledger_entries DISABLE TRIGGER USER;
    UPDATE credit_ledger_entries SET created_at = created_at - interval '8 days'
      WHERE user_id = (SELECT id FROM users WHERE email = '${email}') AND reason <> 'monthly_grant';
    ALTER TABLE credit_ledger_entries ENABLE TRIGGER USER`);
}

async function waitFor(fn, ms = RENDER_WAIT_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`condition never held\n${srv.proc.log.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

before(async () => {
  db = createDatabase('pack');
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-storage-'));
  srv = await startServer({
    dbUrl: db.url,
    // No worker: render jobs stay queued (rendering itself is tested in content.test.mjs and the e2e walk).
    env: { MOCK_MODE: 'true', CLIPLOOP_WORKERS: '0', CLIPLOOP_STORAGE_DIR: storage, CLIPLOOP_TEST_ROUTES: 'true' },
  });
});

after(async () => {
  if (srv) await srv.stop();
  if (db) db.drop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

test('generate-posts: 5 grounded posts, channel rules on each, charged once, idempotent, replace charged again', async () => {
  const email = 'bola@example.com';
  const c = await signedIn(email);
  const { cycle } = await week(c);
  const before = await gen(c);

  let r = await c.post(`/api/strategy-cycles/${cycle.id}/generate-posts`, { request_id: 'pack-req-0001', brief: BRIEF });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const items = r.body.items;
  assert.equal(items.length, 5);
  assert.deepEqual(items.map((i) => i.position), [1, 2, 3, 4, 5]);
  assert.deepEqual(items.map((i) => i.channel), ['instagram', 'whatsapp', 'instagram', 'whatsapp', 'instagram']);
  // MOCK_MODE can publish Instagram (mock publisher); WhatsApp goes to the manual queue.
  assert.deepEqual(items.map((i) => i.publish_strategy),
    ['direct_instagram', 'manual_export', 'direct_instagram', 'manual_export', 'direct_instagram']);
  assert.ok(items.every((i) => i.source === 'cycle' && i.publish_status === 'draft' && i.cycle_id === cycle.id));
  assert.equal(new Set(items.map((i) => i.draft.angle)).size, 5, 'five different angles');
  // Grounded: the business, its product and the week's offer, never filler.
  const all = items.map((i) => `${i.title} ${i.draft.hook} ${i.draft.caption} ${i.draft.script.join(' ')}`).join('\n');
  assert.match(all, /Bola Bakes/);
  assert.match(all, /birthday cakes/i);
  assert.match(all, /free delivery/i);
  assert.doesNotMatch(all, /lorem|ipsum|placeholder|undefined|null/i);
  for (const i of items) {
    assert.ok(i.draft.hook && i.draft.caption && i.draft.cta && i.draft.script.length >= 2, JSON.stringify(i.draft));
    assert.ok(i.draft.meta.attempts <= 2, 'at most two model calls');
    assert.ok(i.draft.variants.instagram && i.draft.variants.whatsapp && i.draft.variants.tiktok);
    // channel rules applied: WhatsApp takes no hashtags and short captions; Instagram at most 8 tags
    if (i.channel === 'whatsapp') {
      assert.deepEqual(i.draft.hashtags, []);
      assert.doesNotMatch(i.draft.caption, /#\w/);
      assert.ok([...i.draft.caption].length <= 280);
    } else {
      assert.ok(i.draft.hashtags.length <= 8);
    }
    assert.ok(i.draft.hook.split(/\s+/).length <= 12);
  }
  assert.equal(r.body.cycle.pack_status, 'ready');
  assert.equal(r.body.cycle.status, 'active');
  assert.equal(r.body.cycle.brief, BRIEF);
  assert.equal(r.body.receipts[0].amount, -5);
  assert.equal(await gen(c), before - 5);

  // Same request again (a retry): the same pack, nothing charged.
  r = await c.post(`/api/strategy-cycles/${cycle.id}/generate-posts`, { request_id: 'pack-req-0001', brief: BRIEF });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items.map((i) => i.id), items.map((i) => i.id));
  assert.equal(r.body.receipts[0].replayed, true);
  // A second pack for the cycle needs replace:true.
  r = await c.post(`/api/strategy-cycles/${cycle.id}/generate-posts`, { request_id: 'pack-req-0002' });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'pack_exists');
  // replace:true in the same week: the plan's 5 posts per week are used → 429, nothing charged.
  r = await c.post(`/api/strategy-cycles/${cycle.id}/generate-posts`, { request_id: 'pack-req-0003', replace: true });
  assert.equal(r.status, 429, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'plan_limit_reached');
  assert.equal(r.body.error.limit_name, 'posts_per_week');
  assert.equal(r.body.error.limit, 5);
  assert.equal(r.body.error.used, 5);
  assert.equal(await gen(c), before - 5);
  assert.equal((await c.get(`/api/strategy-cycles/${cycle.id}`)).body.limits.posts_per_week.remaining, 0);
  // A week later (the first charge aged), replace works, is charged again, and skips the old pack.
  ageCharges(email);
  r = await c.post(`/api/strategy-cycles/${cycle.id}/generate-posts`, { request_id: 'pack-req-0004', replace: true });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.items.length, 5);
  assert.ok(r.body.items.every((i) => !items.some((o) => o.id === i.id)));
  assert.equal(r.body.cycle.packs_generated, 2);
  assert.equal(await gen(c), before - 10);
  const states = psql(db.url, `SELECT publish_status, count(*) FROM content_items WHERE cycle_id = ${cycle.id} GROUP BY 1 ORDER BY 1`);
  assert.deepEqual(states, [['draft', '5'], ['skipped', '5']]);
  assert.deepEqual(ledger(email, `cycle:${cycle.id}:pack:%`).map((x) => x[0]), ['charge', 'charge']);

  // Deterministic: the same profile, week and brief give the same pack.
  const other = await signedIn('bola-twin@example.com');
  const w2 = await week(other, PROJECT, cycle.week_start);
  const r2 = await other.post(`/api/strategy-cycles/${w2.cycle.id}/generate-posts`, { request_id: 'twin-req-001', brief: BRIEF });
  assert.equal(r2.status, 201);
  assert.deepEqual(r2.body.items.map((i) => i.draft.hook), items.map((i) => i.draft.hook));

  // Foreign cycle: 404, nothing charged.
  const g = await gen(other);
  r = await other.post(`/api/strategy-cycles/${cycle.id}/generate-posts`, { request_id: 'steal-req-01' });
  assert.equal(r.status, 404);
  assert.equal(await gen(other), g);
  // Bad input
  for (const body of [{}, { request_id: 'short' }, { request_id: 'ok-request-1', replace: 'yes' }, { request_id: 'ok-request-1', brief: 'x'.repeat(1001) }]) {
    r = await c.post(`/api/strategy-cycles/${cycle.id}/generate-posts`, body);
    assert.equal(r.status, 422, JSON.stringify(body));
  }
});

test('insufficient credits: 402 with needed/available, nothing charged, no items', async () => {
  const email = 'broke@example.com';
  const c = await signedIn(email);
  const { cycle } = await week(c);
  let left = await gen(c);
  for (let i = 0; left > 4; i++, left--) {
    const r = await c.post('/api/_test/credits/charge', { action: 'regenerate', reference_key: `drain-${i}` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const r = await c.post(`/api/strategy-cycles/${cycle.id}/generate-posts`, { request_id: 'broke-req-01' });
  assert.equal(r.status, 402, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'insufficient_credits');
  assert.equal(r.body.error.needed, 5);
  assert.equal(r.body.error.available, 4);
  assert.equal(await gen(c), 4);
  assert.equal(psql(db.url, `SELECT count(*) FROM content_items WHERE cycle_id = ${cycle.id}`)[0][0], '0');
  assert.equal((await c.get(`/api/strategy-cycles/${cycle.id}`)).body.cycle.pack_status, 'none');
});

test('a failing model: refund, clear error, no partial pack; at most 2 model calls', async () => {
  const c = await signedIn('fail@example.com');
  const { cycle } = await week(c);
  const before = await gen(c);
  // The provider is down: 502, the charge refunded, nothing stored.
  const failing = await startServer({ dbUrl: db.url, migrate: false, env: { MOCK_MODE: 'true', LLM_MOCK_FAIL: 'upstream' } });
  const fc = apiClient(failing.url);
  fc.cookie = c.cookie;
  fc.csrf = c.csrf;
  try {
    const r = await fc.post(`/api/strategy-cycles/${cycle.id}/generate-posts`, { request_id: 'fail-req-001' });
    assert.equal(r.status, 502, JSON.stringify(r.body));
    assert.match(r.body.error.message, /.+/);
  } finally {
    await failing.stop();
  }
  assert.equal(await gen(c), before);
  assert.deepEqual(ledger('fail@example.com', `%cycle:${cycle.id}:%`).map((x) => [x[0], x[1]]), [['charge', '-5'], ['refund', '5']]);
  assert.equal(psql(db.url, `SELECT count(*) FROM content_items WHERE cycle_id = ${cycle.id}`)[0][0], '0');
  assert.equal((await c.get(`/api/strategy-cycles/${cycle.id}`)).body.cycle.pack_status, 'none');
  // The refunded request cannot be replayed for free.
  let r = await c.post(`/api/strategy-cycles/${cycle.id}/generate-posts`, { request_id: 'fail-req-001' });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'request_already_failed');
  // Refunded work costs no quota: a new request still fits the week's 5 posts.
  assert.equal((await c.get(`/api/strategy-cycles/${cycle.id}`)).body.limits.posts_per_week.used, 0);

  // A model that answers a single draft instead of 5 posts: 2 calls, then 502 llm_malformed_output and a refund.
  const fake = await startLlmFake();
  const bad = await startServer({ dbUrl: db.url, migrate: false, env: { MOCK_MODE: 'true', LLM_PROVIDER: 'openai_compat',
    OPENAI_COMPAT_BASE_URL: fake.baseUrl, OPENAI_COMPAT_API_KEY: 'k', OPENAI_COMPAT_MODEL: 'fake-draft', CLIPLOOP_HTTP_ALLOW_LOOPBACK: 'true' } });
  const bc = apiClient(bad.url);
  bc.cookie = c.cookie;
  bc.csrf = c.csrf;
  try {
    r = await bc.post(`/api/strategy-cycles/${cycle.id}/generate-posts`, { request_id: 'fail-req-002' });
    assert.equal(r.status, 502, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'llm_malformed_output');
    const seen = await (await fetch(fake.baseUrl.replace(/\/v1$/, '') + '/requests')).json();
    assert.equal(seen.filter((x) => x.path.endsWith('/chat/completions')).length, 2, 'exactly two model calls');
  } finally {
    await bad.stop();
    await fake.close();
  }
  assert.equal(await gen(c), before);
  assert.equal(psql(db.url, `SELECT count(*) FROM content_items WHERE cycle_id = ${cycle.id}`)[0][0], '0');
});

test('regenerate, PATCH, render-all', async () => {
  const email = 'edit@example.com';
  const c = await signedIn(email);
  const { cycle } = await week(c);
  let r = await c.post(`/api/strategy-cycles/${cycle.id}/generate-posts`, { request_id: 'edit-pack-01', brief: BRIEF });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const [ig, wa] = r.body.items;

  // PATCH: switch channel → that channel's variant, its rules, no model call; strategy follows.
  r = await patch(c, `/api/content-items/${ig.id}`, { channel: 'whatsapp' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.item.channel, 'whatsapp');
  assert.equal(r.body.item.draft.caption, ig.draft.variants.whatsapp.caption);
  assert.deepEqual(r.body.item.draft.hashtags, []);
  assert.equal(r.body.item.publish_strategy, 'manual_export');
  assert.equal(r.body.item.draft.meta.attempts, ig.draft.meta.attempts, 'no new model call');
  r = await patch(c, `/api/content-items/${ig.id}`, { channel: 'instagram', publish_strategy: 'direct_instagram' });
  assert.equal(r.status, 200);
  assert.equal(r.body.item.draft.caption, ig.draft.caption);
  assert.equal(r.body.item.publish_strategy, 'direct_instagram');
  // direct publishing is Instagram only
  r = await patch(c, `/api/content-items/${wa.id}`, { publish_strategy: 'direct_instagram' });
  assert.equal(r.status, 422);
  assert.ok(r.body.error.fields.publish_strategy);
  // Hand edits are checked against the channel's rules: 422 naming the rule.
  r = await patch(c, `/api/content-items/${wa.id}`, { caption: 'Order today #cakes #ibadan' });
  assert.equal(r.status, 422);
  assert.equal(r.body.error.rule, 'whatsapp.hashtags.max');
  r = await patch(c, `/api/content-items/${wa.id}`, { caption: 'x'.repeat(281) });
  assert.equal(r.status, 422);
  assert.equal(r.body.error.rule, 'whatsapp.caption.max_chars');
  r = await patch(c, `/api/content-items/${ig.id}`, { caption: 'So good 🎂🎉 today' });
  assert.equal(r.status, 422);
  assert.equal(r.body.error.rule, 'instagram.emoji.max_per_line');
  r = await patch(c, `/api/content-items/${ig.id}`, { cta: 'Tap\nnow' });
  assert.equal(r.status, 422);
  assert.equal(r.body.error.rule, 'instagram.cta.single_line');
  r = await patch(c, `/api/content-items/${ig.id}`, { cta: '' });
  assert.equal(r.status, 422);
  r = await patch(c, `/api/content-items/${ig.id}`, { caption: 'Birthday cakes with free delivery 🎂\nThis weekend only 🚚', cta: 'DM us to order' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.item.draft.caption, 'Birthday cakes with free delivery 🎂\nThis weekend only 🚚');
  assert.equal(r.body.item.draft.variants.instagram.cta, 'DM us to order');
  r = await patch(c, `/api/content-items/${ig.id}`, { colour: 'red' });
  assert.equal(r.status, 422);

  // Regenerate: generation 1, lineage, the old one skipped, the position taken over.
  const g0 = await gen(c);
  r = await c.post(`/api/content-items/${wa.id}/regenerate`, { request_id: 'regen-req-001', feedback: 'mention the free delivery first' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const fresh = r.body.item;
  assert.equal(fresh.parent_id, wa.id);
  assert.equal(fresh.source, 'regenerate');
  assert.equal(fresh.position, wa.position);
  assert.equal(fresh.cycle_id, cycle.id);
  assert.equal(fresh.channel, 'whatsapp');
  assert.match(`${fresh.draft.hook} ${fresh.draft.caption}`, /Bola Bakes|birthday cakes/i);
  assert.equal(r.body.receipts[0].amount, -1);
  assert.equal(await gen(c), g0 - 1);
  assert.equal((await c.get(`/api/content-items/${wa.id}`)).body.publish_status, 'skipped');
  // retry: the same item, no charge
  r = await c.post(`/api/content-items/${wa.id}/regenerate`, { request_id: 'regen-req-001' });
  assert.equal(r.status, 200);
  assert.equal(r.body.item.id, fresh.id);
  assert.equal(await gen(c), g0 - 1);
  // the skipped item cannot be regenerated again
  r = await c.post(`/api/content-items/${wa.id}/regenerate`, { request_id: 'regen-req-002' });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.current_state, 'skipped');
  // 3 per week
  const week1 = (await c.get(`/api/strategy-cycles/${cycle.id}`)).body;
  assert.equal(week1.items.length, 5);
  assert.equal(week1.limits.regenerations_per_week.used, 1);
  let target = fresh.id;
  for (let i = 2; i <= 3; i++) {
    r = await c.post(`/api/content-items/${target}/regenerate`, { request_id: `regen-req-10${i}` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    target = r.body.item.id;
  }
  const g1 = await gen(c);
  r = await c.post(`/api/content-items/${target}/regenerate`, { request_id: 'regen-req-104' });
  assert.equal(r.status, 429, JSON.stringify(r.body));
  assert.equal(r.body.error.limit_name, 'regenerations_per_week');
  assert.equal(await gen(c), g1);

  // Render all: 5 renders charged once; a second press charges nothing more.
  const r0 = await rnd(c);
  r = await c.post(`/api/strategy-cycles/${cycle.id}/render-all`);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.charged, 5);
  assert.equal(r.body.receipts.length, 5);
  assert.equal(await rnd(c), r0 - 5);
  r = await c.post(`/api/strategy-cycles/${cycle.id}/render-all`);
  assert.ok(r.status === 200 || r.status === 202);
  assert.equal(r.body.charged, 0);
  assert.equal(await rnd(c), r0 - 5);
  const queued = psql(db.url, `SELECT count(*), count(DISTINCT idempotency_key) FROM jobs WHERE kind = 'render.content_item'
    AND (payload->>'content_item_id')::bigint IN (SELECT id FROM content_items WHERE cycle_id = ${cycle.id})`);
  assert.deepEqual(queued, [['5', '5']]);
  // Once rendered, render-all has nothing to do and charges nothing.
  psql(db.url, `UPDATE content_items SET status = 'rendered' WHERE cycle_id = ${cycle.id}`);
  r = await c.post(`/api/strategy-cycles/${cycle.id}/render-all`);
  assert.equal(r.status, 200);
  assert.equal(r.body.charged, 0);
  assert.equal(r.body.not_rendered.length, 5);
  const done = (await c.get(`/api/strategy-cycles/${cycle.id}`)).body;
  // Edits are refused once scheduled.
  const first = done.items[0];
  assert.equal((await c.post(`/api/content-items/${first.id}/approve`)).status, 200);
  psql(db.url, `UPDATE content_items SET publish_status = 'scheduled', scheduled_at = now() + interval '1 day' WHERE id = ${first.id}`);
  r = await patch(c, `/api/content-items/${first.id}`, { cta: 'Order now' });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'item_locked');
  assert.equal(r.body.error.current_state, 'scheduled');

  // Another user: 404 for every edit.
  const eve = await signedIn('eve-edit@example.com');
  assert.equal((await patch(eve, `/api/content-items/${ig.id}`, { channel: 'tiktok' })).status, 404);
  assert.equal((await eve.post(`/api/content-items/${ig.id}/regenerate`, { request_id: 'eve-regen-01' })).status, 404);
  assert.equal((await eve.post(`/api/strategy-cycles/${cycle.id}/render-all`)).status, 404);
});

test('render-all: 402 before anything is charged when the render balance is short; failed renders are refunded', async () => {
  // Its own database and a server whose renderer is switched off: every render fails for good.
  const db2 = createDatabase('pack_render');
  const broken = await startServer({ dbUrl: db2.url, env: { MOCK_MODE: 'true', CLIPLOOP_WORKERS: '1', CLIPLOOP_STORAGE_DIR: storage,
    RENDERER: 'hyperframes', HYPERFRAMES_ENABLED: 'false', CLIPLOOP_JOB_POLL_MS: '100', INVITE_ONLY_MODE: 'false' } });
  try {
    const c = apiClient(broken.url);
    // Open access: a free account holds 3 render credits, fewer than the pack needs.
    assert.equal((await c.signup('renders@example.com')).status, 201);
    const p = await c.post('/api/projects', PROJECT);
    assert.equal(p.status, 201, JSON.stringify(p.body));
    const pid = p.body.project?.id ?? p.body.id;
    const cycle = (await c.post(`/api/projects/${pid}/strategy-cycles`, {})).body.cycle;
    assert.equal((await c.post(`/api/strategy-cycles/${cycle.id}/generate-posts`, { request_id: 'render-pack-1' })).status, 201);
    assert.equal(await rnd(c), 3);
    let r = await c.post(`/api/strategy-cycles/${cycle.id}/render-all`);
    assert.equal(r.status, 402, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'insufficient_credits');
    assert.equal(r.body.error.needed, 5);
    assert.equal(r.body.error.available, 3);
    assert.equal(await rnd(c), 3);
    assert.equal(psql(db2.url, `SELECT count(*) FROM content_items WHERE cycle_id = ${cycle.id} AND status <> 'draft'`)[0][0], '0');
    assert.equal(psql(db2.url, `SELECT count(*) FROM credit_ledger_entries WHERE reason = 'charge' AND kind = 'render'`)[0][0], '0');

    // Beta tops the month's grant up (20 renders); every render then fails for good and is refunded.
    assert.equal((await c.post('/api/dev/approve-user', { email: 'renders@example.com', plan: 'beta' })).status, 200);
    assert.equal(await rnd(c), 20);
    r = await c.post(`/api/strategy-cycles/${cycle.id}/render-all`);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.charged, 5);
    assert.deepEqual(r.body.receipts.map((x) => x.amount), [-1, -1, -1, -1, -1]);
    const end = Date.now() + RENDER_WAIT_MS;
    for (;;) {
      const w = (await c.get(`/api/strategy-cycles/${cycle.id}`)).body;
      if (w.items.every((i) => i.status === 'render_failed')) break;
      if (Date.now() > end) throw new Error(`renders never failed: ${JSON.stringify(w.items.map((i) => i.status))}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal(await rnd(c), 20, 'every failed render refunded');
    const refunds = psql(db2.url, `SELECT count(*) FROM credit_ledger_entries WHERE reason = 'refund' AND reference_key LIKE 'refund:content_item:%'`);
    assert.equal(refunds[0][0], '5');
  } finally {
    await broken.stop();
    db2.drop();
  }
});

test('the plan\'s 20 renders per month: render-all and the single render answer 429, nothing charged', async () => {
  const c = await signedIn('limits@example.com');
  const { cycle } = await week(c);
  let r = await c.post(`/api/strategy-cycles/${cycle.id}/generate-posts`, { request_id: 'limit-pack-01' });
  assert.equal(r.status, 201);
  const item = r.body.items[0];
  // 16 renders used this month elsewhere: 4 left, render-all needs 5.
  for (let i = 0; i < 16; i++) {
    const x = await c.post('/api/_test/credits/charge', { action: 'content_item.render', reference_key: `used-${i}` });
    assert.equal(x.status, 201);
  }
  const before = await rnd(c);
  r = await c.post(`/api/strategy-cycles/${cycle.id}/render-all`);
  assert.equal(r.status, 429, JSON.stringify(r.body));
  assert.equal(r.body.error.limit_name, 'renders_per_month');
  assert.equal(r.body.error.used, 16);
  assert.equal(r.body.error.needed, 5);
  assert.equal(await rnd(c), before);
  // One render still fits; the 21st does not.
  for (let i = 16; i < 20; i++) await c.post('/api/_test/credits/charge', { action: 'content_item.render', reference_key: `used-${i}` });
  r = await c.post(`/api/content-items/${item.id}/render`);
  assert.equal(r.status, 429, JSON.stringify(r.body));
  assert.equal(r.body.error.limit_name, 'renders_per_month');
  // A refunded render gives its quota back.
  await c.post('/api/_test/credits/refund', { reference_key: 'used-0' });
  r = await c.post(`/api/content-items/${item.id}/render`);
  assert.equal(r.status, 202, JSON.stringify(r.body));
});
