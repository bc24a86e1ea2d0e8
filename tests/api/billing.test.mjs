// billing.test.mjs — Pro through the billing_lemonsqueezy plugin against a
// fake Lemon Squeezy API: checkout, portal, status, and every webhook event
// (signed fixtures, forged signatures, replays, out-of-order delivery).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, apiClient, psql, verifyEmail, verifiedUser } from './lib/harness.mjs';
import { startLemonSqueezyFake, sign, subscriptionEvent, paymentEvent } from '../fakes/lemonsqueezy_fake.mjs';

const SECRET = 'whsec_test_0123456789';
const KEY = 'ls_test_key';
let db, srv, fake;

function lsEnv(extra = {}) {
  return {
    MOCK_MODE: 'true', CLIPLOOP_SCRYPT_LOG_N: '10', INVITE_ONLY_MODE: 'true', BILLING_PROVIDER: 'lemonsqueezy',
    LEMON_SQUEEZY_API_KEY: KEY, LEMON_SQUEEZY_STORE_ID: '4242', LEMON_SQUEEZY_STARTER_VARIANT_ID: '777',
    LEMON_SQUEEZY_WEBHOOK_SECRET: SECRET, LEMON_SQUEEZY_API_BASE_URL: fake.baseUrl, LEMON_SQUEEZY_TIMEOUT_MS: '1500',
    CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS: String(fake.port), ...extra,
  };
}

before(async () => {
  fake = await startLemonSqueezyFake({ apiKey: KEY, storeId: '4242', variantId: '777' });
  db = createDatabase('billing');
  srv = await startServer({ dbUrl: db.url, env: lsEnv() });
});

after(async () => {
  await srv?.stop();
  await fake?.close();
  db?.drop();
});

const count = (sql) => Number(psql(db.url, sql)[0][0]);

async function deliver(body, { signature, event, headers = {} } = {}) {
  const h = { 'content-type': 'application/json', ...headers };
  if (signature !== null) h['x-signature'] = signature ?? sign(body, SECRET);
  if (event) h['x-event-name'] = event;
  const r = await fetch(srv.url + '/api/webhooks/lemonsqueezy', { method: 'POST', headers: h, body });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

test('checkout: an unverified address cannot buy a plan that would not apply', async () => {
  const u = apiClient(srv.url);
  assert.equal((await u.signup('unverified-buyer@example.com')).status, 201);
  const r = await u.post('/api/billing/checkout');
  assert.equal(r.status, 403, r.text);
  assert.equal(r.body.error.code, 'email_unverified');
  await verifyEmail(u);
  assert.equal((await u.post('/api/billing/checkout')).status, 201);
});

const newUser = (email) => verifiedUser(srv.url, email);

const grants = (uid) => count(`SELECT count(*) FROM credit_ledger_entries WHERE user_id = ${uid} AND reason = 'monthly_grant'`);

test('checkout: signed in only, CSRF, one checkout per user for a short window, custom data and redirect', async () => {
  const anon = await fetch(srv.url + '/api/billing/checkout', { method: 'POST' });
  assert.equal(anon.status, 401);
  const u = await newUser('checkout@example.com');
  const noCsrf = await u.post('/api/billing/checkout', {}, { csrf: false });
  assert.equal(noCsrf.status, 403);

  const before = fake.requests.length;
  // A double click: two requests at once give one checkout.
  const [a, b] = await Promise.all([u.post('/api/billing/checkout'), u.post('/api/billing/checkout')]);
  assert.deepEqual([a.status, b.status].sort(), [200, 201]);
  assert.equal(a.body.url, b.body.url);
  assert.match(a.body.url, /^http:\/\/127\.0\.0\.1:\d+\/checkout\/buy\//);
  const calls = fake.requests.slice(before).filter((r) => r.path === '/v1/checkouts');
  assert.equal(calls.length, 1);
  const sent = calls[0];
  assert.equal(sent.headers.authorization, `Bearer ${KEY}`);
  assert.match(sent.headers['content-type'], /application\/vnd\.api\+json/);
  assert.equal(sent.body.data.type, 'checkouts');
  assert.equal(sent.body.data.attributes.checkout_data.email, 'checkout@example.com');
  assert.equal(sent.body.data.attributes.checkout_data.custom.user_id, String(u.user.id));
  assert.equal(sent.body.data.attributes.product_options.redirect_url, `${srv.url}/billing/success`);
  assert.deepEqual(sent.body.data.relationships.store.data, { type: 'stores', id: '4242' });
  assert.deepEqual(sent.body.data.relationships.variant.data, { type: 'variants', id: '777' });
  const again = await u.post('/api/billing/checkout');
  assert.equal(again.status, 200);
  assert.equal(again.body.reused, true);
  assert.equal(fake.requests.slice(before).filter((r) => r.path === '/v1/checkouts').length, 1);

  // After the window a new checkout is made.
  psql(db.url, `UPDATE billing_checkouts SET created_at = now() - interval '11 minutes' WHERE user_id = ${u.user.id}`);
  const fresh = await u.post('/api/billing/checkout');
  assert.equal(fresh.status, 201);
  assert.notEqual(fresh.body.url, a.body.url);
});

test('checkout: provider failures are clear errors and nothing is cached', async () => {
  const u = await newUser('failing@example.com');
  fake.failNext(500);
  const r = await u.post('/api/billing/checkout');
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'billing_provider_error');
  assert.equal(count(`SELECT count(*) FROM billing_checkouts WHERE user_id = ${u.user.id}`), 0);
  const ok = await u.post('/api/billing/checkout');
  assert.equal(ok.status, 201);
});

test('provider timeouts, rate limits and retries: clear answers, a checkout is never sent twice', async () => {
  const u = await newUser('slow@example.com');
  const posts = () => fake.requests.filter((r) => r.path === '/v1/checkouts').length;
  let before = posts();
  fake.delayNext(3000);
  let r = await u.post('/api/billing/checkout');
  assert.equal(r.status, 504);
  assert.equal(r.body.error.code, 'billing_timeout');
  assert.equal(posts() - before, 1, 'a POST that timed out is not retried (it may have been created)');
  assert.equal(count(`SELECT count(*) FROM billing_checkouts WHERE user_id = ${u.user.id}`), 0);
  fake.failNext(429);
  r = await u.post('/api/billing/checkout');
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'billing_provider_error');
  // Reads are retried: one 503 then the subscription.
  await deliver(subscriptionEvent('subscription_created', { subscriptionId: '500', userId: u.user.id, updatedAt: '2026-04-01T00:00:00Z' }));
  const { subscriptionAttributes } = await import('../fakes/lemonsqueezy_fake.mjs');
  fake.subscriptions.set('500', subscriptionAttributes({ status: 'active', updatedAt: '2026-04-01T00:00:00Z', portal: 'retried' }));
  before = fake.requests.length;
  fake.failNext(503);
  r = await u.post('/api/billing/portal');
  assert.equal(r.status, 200);
  assert.match(r.body.url, /retried/);
  assert.equal(fake.requests.slice(before).filter((q) => q.path === '/v1/subscriptions/500').length, 2);
});

test('webhook: unsigned, forged and oversized bodies are refused and nothing is stored', async () => {
  const u = await newUser('forger@example.com');
  const body = subscriptionEvent('subscription_created', { subscriptionId: '66', userId: u.user.id });
  const rows = () => count('SELECT count(*) FROM webhook_events');
  const n0 = rows();
  assert.equal((await deliver(body, { signature: null })).status, 401);
  assert.equal((await deliver(body, { signature: sign(body, 'not-the-secret') })).status, 401);
  assert.equal((await deliver(body, { signature: 'zz' + sign(body, SECRET).slice(2) })).status, 401);
  // Signed correctly, then altered: the signature covers the raw bytes.
  assert.equal((await deliver(body.replace('"active"', '"expired"'), { signature: sign(body, SECRET) })).status, 401);
  const big = JSON.stringify({ meta: { event_name: 'subscription_created' }, pad: 'x'.repeat(300 * 1024) });
  const r413 = await deliver(big);
  assert.equal(r413.status, 413);
  assert.equal(r413.body.error.code, 'payload_too_large');
  assert.equal(rows(), n0);
  assert.equal(count(`SELECT count(*) FROM subscriptions WHERE user_id = ${u.user.id}`), 0);
  // Signed but not an event: stored for audit, answered 400.
  const junk = '{"hello":"world"}';
  const rj = await deliver(junk);
  assert.equal(rj.status, 400);
  assert.equal(rj.body.error.code, 'invalid_payload');
  assert.equal(count("SELECT count(*) FROM webhook_events WHERE event_name = 'unreadable' AND processed_at IS NULL AND error IS NOT NULL"), 1);
});

test('webhook lifecycle: every subscription event, replay, out-of-order, grants once, history', async () => {
  const u = await newUser('pro@example.com');
  const uid = u.user.id;
  // Invite-only and not approved: waitlisted.
  assert.equal((await u.get('/api/projects')).status, 403);
  const t = (min) => new Date(Date.UTC(2026, 0, 1, 0, min)).toISOString();
  const grantsBefore = grants(uid);

  const created = subscriptionEvent('subscription_created', { subscriptionId: '100', userId: uid, status: 'active', updatedAt: t(1) });
  let r = await deliver(created, { event: 'subscription_created' });
  assert.equal(r.status, 200);
  assert.equal(r.body.outcome, 'applied');
  const sub = psql(db.url, `SELECT status, provider_subscription_id, provider_customer_id, provider_order_id, provider_variant_id, portal_url IS NOT NULL, renews_at IS NOT NULL FROM subscriptions WHERE user_id = ${uid}`)[0];
  assert.deepEqual(sub, ['active', '100', '9001', '5001', '777', 't', 't']);
  let plan = await u.get('/api/me/plan');
  assert.equal(plan.body.plan.id, 'starter');
  assert.equal(plan.body.access.product, true);
  assert.equal((await u.get('/api/projects')).status, 200, 'active Starter opens the product in invite-only mode');
  const credits = await u.get('/api/me/credits');
  assert.equal(credits.status, 200);
  const g = grants(uid);
  assert.ok(g > grantsBefore, 'the Pro grant was applied');
  const bal = psql(db.url, `SELECT generation_balance, render_balance FROM credit_accounts WHERE user_id = ${uid}`)[0];
  assert.deepEqual(bal, ['150', '60']);

  // Replay: acknowledged, nothing changes.
  r = await deliver(created);
  assert.equal(r.status, 200);
  assert.equal(r.body.duplicate, true);
  assert.equal(r.body.event, 'subscription_created');
  assert.equal(count(`SELECT deliveries FROM webhook_events WHERE event_name = 'subscription_created' AND provider_subscription_id = '100'`), 2);
  assert.equal(grants(uid), g);

  // Payments are recorded for the history.
  for (const [name, status, inv] of [['subscription_payment_success', 'paid', '11'], ['subscription_payment_failed', 'failed', '12'],
    ['subscription_payment_recovered', 'paid', '13']]) {
    r = await deliver(paymentEvent(name, { invoiceId: inv, subscriptionId: '100', status, updatedAt: t(2) }));
    assert.equal(r.status, 200, name);
    assert.equal(r.body.outcome, 'recorded', name);
  }
  assert.equal(count(`SELECT count(*) FROM webhook_events WHERE user_id = ${uid} AND amount_cents = 500 AND currency = 'USD'`), 3);

  // Newer update, then an older one arriving late: the older never wins.
  r = await deliver(subscriptionEvent('subscription_updated', { subscriptionId: '100', userId: uid, status: 'active', updatedAt: t(10), portal: 'newer' }));
  assert.equal(r.body.outcome, 'applied');
  r = await deliver(subscriptionEvent('subscription_updated', { subscriptionId: '100', userId: uid, status: 'past_due', updatedAt: t(5) }));
  assert.equal(r.status, 200);
  assert.equal(r.body.outcome, 'stale');
  assert.equal(psql(db.url, `SELECT status FROM subscriptions WHERE user_id = ${uid}`)[0][0], 'active');
  assert.match(psql(db.url, `SELECT portal_url FROM subscriptions WHERE user_id = ${uid}`)[0][0], /newer/);

  // Cancelled at period end: Pro until ends_at.
  const future = new Date(Date.now() + 20 * 86400e3).toISOString();
  r = await deliver(subscriptionEvent('subscription_cancelled', { subscriptionId: '100', userId: uid, status: 'cancelled', cancelled: true, endsAt: future, updatedAt: t(20) }));
  assert.equal(r.body.outcome, 'applied');
  plan = await u.get('/api/me/plan');
  assert.equal(plan.body.plan.id, 'starter');
  assert.equal(plan.body.plan.reason, 'cancel_at_period_end');

  r = await deliver(subscriptionEvent('subscription_resumed', { subscriptionId: '100', userId: uid, status: 'active', updatedAt: t(30) }));
  assert.equal(r.body.outcome, 'applied');
  assert.equal((await u.get('/api/me/plan')).body.plan.reason, 'subscription_active');

  r = await deliver(subscriptionEvent('subscription_paused', { subscriptionId: '100', userId: uid, status: 'paused', updatedAt: t(40) }));
  assert.equal(r.body.outcome, 'applied');
  assert.equal((await u.get('/api/me/plan')).body.plan.id, 'free');
  assert.equal((await u.get('/api/projects')).status, 403);

  r = await deliver(subscriptionEvent('subscription_unpaused', { subscriptionId: '100', userId: uid, status: 'active', updatedAt: t(50) }));
  assert.equal(r.body.outcome, 'applied');
  assert.equal((await u.get('/api/me/plan')).body.plan.id, 'starter');
  assert.equal(grants(uid), g, 'the month grant is applied once, however often Pro comes back');

  const past = new Date(Date.now() - 86400e3).toISOString();
  r = await deliver(subscriptionEvent('subscription_expired', { subscriptionId: '100', userId: uid, status: 'expired', cancelled: true, endsAt: past, updatedAt: t(60) }));
  assert.equal(r.body.outcome, 'applied');
  plan = await u.get('/api/me/plan');
  assert.equal(plan.body.plan.id, 'free');
  assert.equal(plan.body.access.product, false);

  // Unknown events are acknowledged and ignored.
  r = await deliver(JSON.stringify({ meta: { event_name: 'order_created', custom_data: { user_id: String(uid) } },
    data: { type: 'orders', id: '5001', attributes: { status: 'paid', updated_at: t(61) } } }));
  assert.equal(r.status, 200);
  assert.equal(r.body.outcome, 'ignored');

  // The history the settings page shows.
  const st = await u.get('/api/billing');
  assert.equal(st.status, 200);
  assert.equal(st.body.configured, true);
  assert.equal(st.body.subscription.status, 'expired');
  const events = st.body.history.map((h) => h.event);
  for (const e of ['subscription_created', 'subscription_updated', 'subscription_cancelled', 'subscription_resumed',
    'subscription_paused', 'subscription_unpaused', 'subscription_expired', 'subscription_payment_success',
    'subscription_payment_failed', 'subscription_payment_recovered']) assert.ok(events.includes(e), e);
  assert.ok(st.body.history.some((h) => h.event === 'subscription_payment_success' && h.amount_cents === 500 && h.currency === 'USD'));
  // Every stored event has its raw body and a processed time.
  assert.equal(count(`SELECT count(*) FROM webhook_events WHERE user_id = ${uid} AND (processed_at IS NULL OR length(raw_body) = 0 OR NOT signature_ok)`), 0);
});

test('webhook: expiry falls back to beta for a beta-approved user; unmatched and foreign variants are recorded', async () => {
  const u = await newUser('beta@example.com');
  const admin = apiClient(srv.url);
  await admin.demoLogin();
  assert.equal((await admin.post('/api/dev/approve-user', { email: 'beta@example.com', plan: 'beta' })).status, 200);
  const uid = u.user.id;
  await deliver(subscriptionEvent('subscription_created', { subscriptionId: '200', userId: uid, updatedAt: '2026-02-01T00:00:00Z' }));
  assert.equal((await u.get('/api/me/plan')).body.plan.id, 'starter');
  await deliver(subscriptionEvent('subscription_expired', { subscriptionId: '200', status: 'expired', endsAt: '2026-02-02T00:00:00Z', updatedAt: '2026-02-03T00:00:00Z' }));
  const plan = await u.get('/api/me/plan');
  assert.equal(plan.body.plan.id, 'beta', 'found by the subscription id even without custom data');
  assert.equal(plan.body.access.product, true);

  // No user to attach: acknowledged, stored with an error, left unprocessed (a redelivery retries).
  let r = await deliver(subscriptionEvent('subscription_created', { subscriptionId: '999' }));
  assert.equal(r.status, 200);
  assert.equal(r.body.outcome, 'unmatched');
  assert.equal(count("SELECT count(*) FROM webhook_events WHERE provider_subscription_id = '999' AND processed_at IS NULL AND error LIKE 'no user%'"), 1);

  // Another product's variant never grants Pro.
  const v = await newUser('variant@example.com');
  r = await deliver(subscriptionEvent('subscription_created', { subscriptionId: '300', userId: v.user.id, variantId: 12345 }));
  assert.equal(r.body.outcome, 'ignored');
  assert.equal((await v.get('/api/me/plan')).body.plan.id, 'free');
  assert.equal(count("SELECT count(*) FROM webhook_events WHERE provider_subscription_id = '300' AND error LIKE 'variant 12345%'"), 1);
});

test('portal: 404 without a subscription; a fresh URL from the provider otherwise', async () => {
  const u = await newUser('portal@example.com');
  let r = await u.post('/api/billing/portal');
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 'no_subscription');
  await deliver(subscriptionEvent('subscription_created', { subscriptionId: '400', userId: u.user.id, updatedAt: '2026-03-01T00:00:00Z', portal: 'old' }));
  const { subscriptionAttributes } = await import('../fakes/lemonsqueezy_fake.mjs');
  fake.subscriptions.set('400', subscriptionAttributes({ status: 'active', updatedAt: '2026-03-05T00:00:00Z', portal: 'fresh' }));
  r = await u.post('/api/billing/portal');
  assert.equal(r.status, 200);
  assert.equal(r.body.url, 'https://shop.example/billing?sig=fresh');
  assert.match(r.body.update_payment_url, /fresh/);
  assert.match(psql(db.url, `SELECT portal_url FROM subscriptions WHERE user_id = ${u.user.id}`)[0][0], /fresh/);
  const seen = fake.requests.filter((q) => q.path === '/v1/subscriptions/400');
  assert.equal(seen.length, 1);
  assert.equal(seen[0].headers.authorization, `Bearer ${KEY}`);
  // The provider forgot the subscription.
  fake.subscriptions.delete('400');
  r = await u.post('/api/billing/portal');
  assert.equal(r.status, 404);
  // Already Pro: checkout says so instead of selling it twice.
  r = await u.post('/api/billing/checkout');
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'already_subscribed');
});

// Last: it starts servers of its own for seconds, and a long idle gap before
// the next request to the shared server could meet a keep-alive connection
// the server is just closing (a POST is not retried).
test('not configured: every billing route answers 503 billing_not_configured, nothing pretends', async () => {
  const db2 = createDatabase('billing_off');
  for (const env of [{ MOCK_MODE: 'true', CLIPLOOP_SCRYPT_LOG_N: '10' },
    // Selected but missing settings: the same clear 503.
    { MOCK_MODE: 'true', CLIPLOOP_SCRYPT_LOG_N: '10', BILLING_PROVIDER: 'lemonsqueezy', LEMON_SQUEEZY_API_KEY: 'k' }]) {
    const s = await startServer({ dbUrl: db2.url, env });
    try {
      const u = apiClient(s.url);
      await u.demoLogin();
      for (const p of ['/api/billing/checkout', '/api/billing/portal']) {
        const r = await u.post(p);
        assert.equal(r.status, 503, p);
        assert.equal(r.body.error.code, 'billing_not_configured');
      }
      const body = subscriptionEvent('subscription_created', { userId: 1 });
      const w = await fetch(s.url + '/api/webhooks/lemonsqueezy', { method: 'POST', body, headers: { 'x-signature': sign(body, SECRET) } });
      assert.equal(w.status, 503);
      const st = await u.get('/api/billing');
      assert.equal(st.status, 200);
      assert.equal(st.body.configured, false);
      const page = await (await fetch(s.url + '/pricing')).text();
      assert.match(page, /Checkout is not available on this server/);
      assert.equal(Number(psql(db2.url, 'SELECT count(*) FROM webhook_events')[0][0]), 0);
      assert.equal(Number(psql(db2.url, 'SELECT count(*) FROM billing_checkouts')[0][0]), 0);
    } finally {
      await s.stop();
    }
  }
  // A provider that is not loaded is a start-up error naming the variable.
  const bad = await import('./lib/harness.mjs').then((h) => h.cliploop(['plugins'], { BILLING_PROVIDER: 'stripe' }));
  assert.match(bad.stdout + bad.stderr, /BILLING_PROVIDER=stripe/);
  db2.drop();
});
