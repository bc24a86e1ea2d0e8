// billing_pool.test.mjs — checkout and the billing portal wait on Lemon
// Squeezy (seconds, up to LEMON_SQUEEZY_TIMEOUT_MS), so they run on the
// provider pool with its per-user limit, like the LLM routes: while
// checkouts hang at the provider, routes on the blocking pool still answer;
// a user's provider calls beyond CLIPLOOP_LLM_PER_USER get 429 with
// Retry-After. Behaviour only: every assertion is about order (answered while
// the others are still outstanding), not about durations.
// run-alone: it holds provider calls open against a server with a two-thread blocking pool.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, verifiedUser, until, psql } from './lib/harness.mjs';
import { startLemonSqueezyFake } from '../fakes/lemonsqueezy_fake.mjs';

const KEY = 'ls_test_key';
let db, srv, fake;

before(async () => {
  fake = await startLemonSqueezyFake({ apiKey: KEY, storeId: '4242', variantId: '777' });
  db = createDatabase('billing_pool');
  srv = await startServer({
    dbUrl: db.url,
    env: {
      MOCK_MODE: 'true', CLIPLOOP_SCRYPT_LOG_N: '10', BILLING_PROVIDER: 'lemonsqueezy',
      LEMON_SQUEEZY_API_KEY: KEY, LEMON_SQUEEZY_STORE_ID: '4242', LEMON_SQUEEZY_STARTER_VARIANT_ID: '777',
      LEMON_SQUEEZY_WEBHOOK_SECRET: 'whsec_pool', LEMON_SQUEEZY_API_BASE_URL: fake.baseUrl, LEMON_SQUEEZY_TIMEOUT_MS: '5000',
      CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS: String(fake.port),
      // two blocking-pool threads: three hanging checkouts there would hold both
      CLIPLOOP_HTTP_POOL_THREADS: '2', CLIPLOOP_LLM_PER_USER: '2',
    },
  });
});

after(async () => {
  await srv?.stop();
  await fake?.close();
  db?.drop();
});

const buyer = (email) => verifiedUser(srv.url, email);

/** A checkout that is not awaited: its promise and whether it has settled. */
function pending(u) {
  const c = { settled: false };
  c.done = u.post('/api/billing/checkout').then((r) => { c.settled = true; return r; });
  return c;
}

const checkoutPosts = () => fake.requests.filter((r) => r.path === '/v1/checkouts').length;

test('three checkouts hanging at Lemon Squeezy: all three reach it at once, and a blocking-pool route answers meanwhile', async () => {
  const users = await Promise.all(['pool-a@example.com', 'pool-b@example.com', 'pool-c@example.com'].map(buyer));
  const bystander = await buyer('pool-d@example.com');
  const before = checkoutPosts();
  fake.hangNext(3);
  const calls = users.map(pending);
  // On the blocking pool (two threads) the third would wait for a thread.
  await until('three checkouts at the provider at once', () => checkoutPosts() === before + 3);
  const status = await bystander.get('/api/billing');
  assert.equal(status.status, 200, status.text);
  assert.equal(calls.filter((c) => c.settled).length, 0, 'every checkout is still waiting on the provider');
  for (const r of await Promise.all(calls.map((c) => c.done))) {
    assert.equal(r.status, 504, r.text);
    assert.equal(r.body.error.code, 'billing_timeout');
  }
});

test('one user\'s provider calls beyond CLIPLOOP_LLM_PER_USER (2): 429 with Retry-After, at once; the others finish', async () => {
  const u = await buyer('pool-e@example.com');
  const before = checkoutPosts();
  fake.hangNext(1);
  const first = pending(u);
  await until('the first checkout at the provider', () => checkoutPosts() === before + 1);
  // holds the user's second slot, waiting for the first: one checkout per user at a time (an advisory lock)
  const second = pending(u);
  await until('the second checkout waiting for the first', () =>
    psql(db.url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")[0][0] === '1');
  const third = await u.post('/api/billing/checkout');
  assert.equal(third.status, 429, third.text);
  assert.equal(third.body.error.code, 'too_many_requests');
  assert.ok(Number(third.headers.get('retry-after')) > 0);
  assert.equal(first.settled, false, 'the first is still waiting on the provider');
  assert.equal((await first.done).status, 504);
  const r2 = await second.done;
  assert.equal(r2.status, 201, r2.text);
  assert.match(r2.body.url, /^https?:\/\//);
});
