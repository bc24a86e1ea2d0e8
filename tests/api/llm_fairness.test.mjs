// A slow LLM cannot stall the others: routes that wait on the provider run on
// their own pool with a per-user limit of calls in flight (429
// too_many_requests + Retry-After beyond it), so sessions and /healthz are
// answered while one user's calls hang; a client that goes away cancels its
// provider call (the provider sees its connection closed), keeps no charge
// and frees its slot. Behaviour only: the provider hangs until cancelled, and
// every assertion is about order (answered while the others are outstanding).
// run-alone: it measures a bystander's wait while another user's burst holds the provider pool.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, apiClient, psql, demoProject, betaUser, until } from './lib/harness.mjs';
import { startLlmFake } from '../fakes/llm_fake.mjs';

let db, fake, wide, narrow, single, owner, bystander, projectId, otherProjectId, userId;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const one = (sql) => psql(db.url, sql)[0]?.[0];
const calls = () => fake.requests.filter((r) => r.path === '/v1/chat/completions');

/** Start a brief that the hanging provider never answers; abort() hangs up. */
function hangingBrief(base, client, project) {
  const ac = new AbortController();
  const p = fetch(base + '/api/create/brief', {
    method: 'POST', signal: ac.signal,
    headers: { 'content-type': 'application/json', cookie: client.cookie, 'x-csrf-token': client.csrf },
    body: JSON.stringify({ project_id: project, prompt: 'Instagram promo for sandals, 2 for 1 this weekend' }),
  }).then(async (r) => ({ status: r.status, body: await r.text() }), (e) => ({ aborted: e.name === 'AbortError' }));
  const b = { settled: false, abort: () => ac.abort() };
  b.done = p.then((v) => { b.settled = true; return v; });
  return b;
}

before(async () => {
  db = createDatabase('llmfair');
  fake = await startLlmFake();
  const env = {
    MOCK_MODE: 'true', CLIPLOOP_WORKERS: '0', LLM_PROVIDER: 'openai_compat', OPENAI_COMPAT_BASE_URL: fake.baseUrl,
    OPENAI_COMPAT_API_KEY: 'test-key', OPENAI_COMPAT_MODEL: 'fake-hang', OPENAI_COMPAT_MAX_RETRIES: '0',
    CLIPLOOP_HTTP_ALLOW_LOOPBACK: 'true', CLIPLOOP_SCRYPT_LOG_N: '10',
  };
  // wide: every one of 12 parallel calls is admitted (more than the 8
  // threads of the blocking pool); narrow: 2 calls per user.
  wide = await startServer({ dbUrl: db.url, env: { ...env, CLIPLOOP_LLM_PER_USER: '12' } });
  narrow = await startServer({ dbUrl: db.url, migrate: false, env: { ...env, CLIPLOOP_LLM_PER_USER: '2' } });
  // single: one provider thread, so requests queue for it.
  single = await startServer({ dbUrl: db.url, migrate: false, env: { ...env, CLIPLOOP_LLM_THREADS: '1', CLIPLOOP_LLM_PER_USER: '12' } });
  owner = apiClient(wide.url);
  ({ userId, projectId } = await demoProject(owner, db.url, {
    business_name: 'Tola Shoes', category: 'Footwear', city: 'Abuja', target_audience: 'Students',
    primary_offer: 'Handmade leather sandals',
  }));
  bystander = await betaUser(wide.url, 'bystander@example.com');
  const p = await bystander.post('/api/projects', {
    name: 'Ngozi Cakes', project_type: 'business', preferred_channels: ['instagram'], language_style: 'english',
    business_name: 'Ngozi Cakes', category: 'Bakery', city: 'Lagos', primary_offer: 'Birthday cakes',
  });
  assert.equal(p.status, 201, p.text);
  otherProjectId = p.body.project?.id ?? p.body.id;
});

after(async () => {
  for (const s of [wide, narrow, single]) if (s) await s.stop();
  if (fake) await fake.close();
  if (db) db.drop();
});

test('12 hanging briefs from one user: another user\'s /api/me and /healthz answer while all 12 are outstanding; hanging up cancels all 12', async () => {
  fake.requests.length = 0;
  const briefs = Array.from({ length: 12 }, () => hangingBrief(wide.url, owner, projectId));
  // All 12 are waiting on the provider at once (the blocking pool has 8 threads).
  await until('12 provider calls in flight at once', () => calls().length === 12);

  const me = await bystander.get('/api/me');
  assert.equal(me.status, 200, me.text);
  assert.equal(me.body.user.email, 'bystander@example.com');
  const health = await fetch(wide.url + '/healthz');
  assert.equal(health.status, 200);
  // The owner's own session routes are not stuck behind their briefs either.
  assert.equal((await owner.get('/api/me')).status, 200);
  assert.equal(briefs.filter((b) => b.settled).length, 0, 'every brief is still outstanding');

  // The client hangs up: each provider call is aborted (its connection closed).
  for (const b of briefs) b.abort();
  await until('the provider to see 12 connections closed', () => calls().filter((r) => r.closed).length === 12);
  for (const b of briefs) assert.deepEqual(await b.done, { aborted: true });
});

test('beyond the per-user limit: 429 too_many_requests with Retry-After; other users are admitted; slots come back', async () => {
  fake.requests.length = 0;
  const c = apiClient(narrow.url);
  c.cookie = owner.cookie;
  c.csrf = owner.csrf;
  const held = [hangingBrief(narrow.url, c, projectId), hangingBrief(narrow.url, c, projectId)];
  await until('the 2 admitted briefs reach the provider', () => calls().length === 2);

  for (const path of ['/api/create/brief', '/api/create/generate']) {
    const body = path.endsWith('brief') ? { project_id: projectId, prompt: 'One more promo please' }
      : { project_id: projectId, brief: { title: 'x' }, request_id: `over-limit-${process.pid}` };
    const r = await c.post(path, body);
    assert.equal(r.status, 429, `${path}: ${r.text}`);
    assert.equal(r.body.error.code, 'too_many_requests');
    assert.match(r.body.error.message, /2 AI requests running/);
    const ra = Number(r.headers.get('retry-after'));
    assert.ok(Number.isInteger(ra) && ra >= 1, `Retry-After ${r.headers.get('retry-after')}`);
  }
  assert.equal(calls().length, 2, 'a refused request never reaches the provider');
  // Nothing was charged for the refused generate.
  assert.equal(one(`SELECT count(*) FROM credit_ledger_entries WHERE reference_key LIKE 'create:over-limit-%'`), '0');

  // Another user is not limited by the first one's calls.
  const b = apiClient(narrow.url);
  b.cookie = bystander.cookie;
  b.csrf = bystander.csrf;
  const theirs = hangingBrief(narrow.url, b, otherProjectId);
  await until('the other user\'s brief to reach the provider', () => calls().length === 3);

  // Hanging up gives the slots back: the owner is admitted again.
  for (const h of [...held, theirs]) h.abort();
  await until('the provider saw 3 connections closed', () => calls().filter((r) => r.closed).length === 3);
  let again;
  await until('the owner to be admitted again once the slots are free', () => {
    if (!again) again = hangingBrief(narrow.url, c, projectId);
    if (calls().length === 4) return true;
    if (again.settled) again = null; // a 429 raced the slot's release: ask again
    return false;
  });
  again.abort();
  await until('the last call was cancelled', () => calls().filter((r) => r.closed).length === 4);
});

test('a generate whose client hangs up mid-call: the provider call is aborted, the charge refunded, the request converges', async () => {
  fake.requests.length = 0;
  const c = apiClient(narrow.url);
  c.cookie = owner.cookie;
  c.csrf = owner.csrf;
  await c.get('/api/create/cost'); // the month's grant is applied before the balance is read
  const [[genBefore, renderBefore]] = psql(db.url, `SELECT generation_balance, render_balance FROM credit_accounts WHERE user_id = ${userId}`);
  const brief = {
    title: 'Sandals 2 for 1', channel: 'instagram', tone: 'warm', duration_seconds: 20, style: 'bright',
    cta: 'Order on WhatsApp', caption_hint: 'Lead with the offer', audience: 'Students', offer: '2 for 1',
    language_style: 'english', aspect: '9:16', request: 'Sandals promo',
  };
  const rid = `gone-${process.pid}-0001`;
  const ac = new AbortController();
  const pending = fetch(narrow.url + '/api/create/generate', {
    method: 'POST', signal: ac.signal,
    headers: { 'content-type': 'application/json', cookie: c.cookie, 'x-csrf-token': c.csrf },
    body: JSON.stringify({ project_id: projectId, brief, request_id: rid, render: true }),
  }).catch((e) => e.name);
  await until('the generate reaches the provider', () => calls().length === 1);
  // Both paid steps were charged up front.
  assert.equal(one(`SELECT count(*) FROM credit_ledger_entries WHERE reference_key IN ('create:${rid}:copy', 'create:${rid}:render') AND reason = 'charge'`), '2');

  ac.abort();
  assert.equal(await pending, 'AbortError');
  await until('the provider saw the connection closed', () => calls()[0].closed);
  await until('both charges refunded', () => one(`SELECT count(*) FROM credit_ledger_entries WHERE reference_key IN ('refund:create:${rid}:copy', 'refund:create:${rid}:render')`) === '2');
  assert.deepEqual(psql(db.url, `SELECT generation_balance, render_balance FROM credit_accounts WHERE user_id = ${userId}`)[0],
    [genBefore, renderBefore], 'nothing kept');
  assert.equal(one(`SELECT count(*) FROM content_items WHERE request_key = 'create:${rid}'`), '0');

  // The same request again converges (refunded → 409, nothing charged, no provider call).
  let r;
  for (let i = 0; i < 200; i++) {
    r = await c.post('/api/create/generate', { project_id: projectId, brief, request_id: rid, render: true });
    if (r.status !== 429) break; // the slot is given back just after the refund commits
    await sleep(50);
  }
  assert.equal(r.status, 409, r.text);
  assert.equal(r.body.error.code, 'request_already_failed');
  assert.equal(calls().length, 1);
  assert.deepEqual(psql(db.url, `SELECT generation_balance, render_balance FROM credit_accounts WHERE user_id = ${userId}`)[0],
    [genBefore, renderBefore]);
});

test('the provider pool\'s queue is fair: a burst from one user waits behind itself, not in front of another user', async () => {
  fake.requests.length = 0;
  const as = (cl) => { const x = apiClient(single.url); x.cookie = cl.cookie; x.csrf = cl.csrf; return x; };
  const a = as(owner), b = as(bystander);
  const first = hangingBrief(single.url, a, projectId);
  await until('the first brief to hold the only provider thread', () => calls().length === 1);
  // One at a time, so the lane's order is the order below: fired together, any
  // of the three could be queued first, and aborting queued[0] would then
  // cancel a waiting brief instead of the one at the provider.
  const queued = [];
  for (let i = 0; i < 3; i++) {
    queued.push(hangingBrief(single.url, a, projectId));
    await sleep(100);
  }
  assert.equal((await b.get('/api/me')).status, 200); // sessions do not wait for the provider thread
  await sleep(300); // the burst is queued before the other user's brief arrives
  const theirs = hangingBrief(single.url, b, otherProjectId);
  await sleep(300);
  const fromOther = (r) => JSON.stringify(r.body).includes('Ngozi Cakes');

  // Each hang-up frees the thread for the next task: round robin over the
  // users' lanes serves the other user's brief second, not after the burst.
  first.abort();
  await until('the next brief to reach the provider', () => calls().length === 2);
  assert.ok(!fromOther(calls()[1]), 'the owner\'s lane was first in line');
  queued[0].abort();
  await until('the next brief to reach the provider', () => calls().length === 3);
  assert.ok(fromOther(calls()[2]), 'the other user\'s brief is served before the rest of the burst');

  for (const h of [...queued, theirs]) h.abort();
  await until('the queued briefs to be cancelled', () => calls().filter((r) => r.closed).length === calls().length && calls().length >= 3);
});
