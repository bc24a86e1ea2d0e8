// Fault suite: upstreams that never answer. Each fake keeps the connection
// open without a byte of answer (its "hang" mode): the AI provider (the
// OpenAI-compatible plugin against tests/fakes/llm_fake.mjs: a brief on the
// request path, a chat message as a job), a website being
// ingested (tests/fakes/http_fake.mjs /hang), Instagram (the code exchange
// of the connect flow, and each step of the publish job: container creation,
// its status, media_publish) and Lemon Squeezy (a checkout), and the AI
// provider during the weekly pack (generate-posts, regenerate, analyze,
// generate-next). Every outbound call runs under its plugin's deadline (set to
// 1 s here), and the user gets that upstream's own error code with a calm
// message instead of a request that hangs or a generic 500; every charge is
// refunded and nothing is half-written. While they hang, the server keeps
// answering others.
// run-alone: fault suite: 1 s deadlines on hanging upstreams, timed against the rest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, apiClient, demoProject, verifyEmail, psql, startServer } from './lib/harness.mjs';
import { startPublishingServer, userWithProject, connectInstagram, renderedItem, waitFor } from './lib/publishing.mjs';
import { publishedWeek } from './lib/weeks.mjs';
import { startLlmFake } from '../fakes/llm_fake.mjs';
import { startHttpFake } from '../fakes/http_fake.mjs';
import { startInstagramFake } from '../fakes/instagram_fake.mjs';
import { startLemonSqueezyFake } from '../fakes/lemonsqueezy_fake.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let db, srv, storage, llm, site, ig, ls;

// A hang guard, not a timing assertion: an answer must come at all.
const within = (p, what, ms = 30000) => Promise.race([p,
  sleep(ms).then(() => { throw new Error(`${what}: no answer within ${ms} ms`); })]);

before(async () => {
  [llm, site, ig, ls] = await Promise.all([startLlmFake(), startHttpFake(), startInstagramFake(),
    startLemonSqueezyFake({ apiKey: 'ls_key', storeId: '4242', variantId: '777' })]);
  db = createDatabase('faultup');
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-faultup-'));
  srv = await startPublishingServer({
    db, fake: ig, storage,
    env: {
      CLIPLOOP_WORKERS: '1', CLIPLOOP_JOB_MAX_ATTEMPTS: '1',
      CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS: [llm.port, site.port, ig.port, ls.port].join(','),
      LLM_PROVIDER: 'openai_compat', OPENAI_COMPAT_BASE_URL: llm.baseUrl, OPENAI_COMPAT_MODEL: 'fake-hang',
      OPENAI_COMPAT_TIMEOUT_MS: '1000',
      INGEST_WEB_REQUEST_TIMEOUT_MS: '1000',
      INSTAGRAM_TIMEOUT_MS: '1000', CLIPLOOP_SCHEDULER_TICK_MS: '200', CLIPLOOP_PUBLISH_POLL_MS: '50',
      BILLING_PROVIDER: 'lemonsqueezy', LEMON_SQUEEZY_API_KEY: 'ls_key', LEMON_SQUEEZY_STORE_ID: '4242',
      LEMON_SQUEEZY_STARTER_VARIANT_ID: '777', LEMON_SQUEEZY_WEBHOOK_SECRET: 'whsec_faults_0123456789',
      LEMON_SQUEEZY_API_BASE_URL: ls.baseUrl, LEMON_SQUEEZY_TIMEOUT_MS: '1000',
    },
  });
});

after(async () => {
  if (srv) await srv.stop();
  await Promise.all([llm?.close(), site?.close(), ig?.close(), ls?.close()]);
  if (db) db.drop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

/** Common checks of an upstream error answer: its own code, a message without internals. */
function calmError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body?.error?.code, code, r.text);
  const msg = r.body.error.message;
  assert.ok(msg.length > 10, msg);
  assert.doesNotMatch(msg, /127\.0\.0\.1|https?:\/\/|curl|errno|\bnull\b|undefined/i, `message shows internals: ${msg}`);
}

/** The demo user signed in, with its one project (made on first use). */
async function demo() {
  const c = apiClient(srv.url);
  assert.equal((await c.demoLogin()).status, 200);
  const list = (await c.get('/api/projects')).body.projects;
  if (list.length) return { c, projectId: list[0].id };
  const { projectId } = await demoProject(c, db.url, {
    business_name: 'Kemi Plants', category: 'Plants', city: 'Lagos', target_audience: 'Apartment dwellers',
    primary_offer: 'Low-light house plants',
  });
  return { c, projectId };
}

test('a hanging AI provider: 504 llm_timeout, and other requests are answered meanwhile', async () => {
  const { c, projectId } = await demo();
  const before = llm.requests.length;
  const pending = within(c.post('/api/create/brief', { project_id: projectId, prompt: 'Snake plant promo for Instagram' }), 'brief');
  // A bystander while the provider hangs.
  const health = await within(fetch(srv.url + '/healthz'), '/healthz');
  assert.equal(health.status, 200);
  const r = await pending;
  calmError(r, 504, 'llm_timeout');
  assert.match(r.body.error.message, /did not answer in time/);
  assert.ok(llm.requests.length > before, 'the provider was really called');
});

test('a hanging AI provider in chat: the chat job fails with llm_timeout, shown in the thread', async () => {
  const { c, projectId } = await demo();
  const chat = await c.post('/api/chats', { project_id: projectId });
  assert.equal(chat.status, 201, chat.text);
  const r = await c.post(`/api/chats/${chat.body.id}/messages`, { mode: 'chat', content: 'Any ideas for Friday?', request_id: `hang-${process.pid}` });
  assert.ok([201, 202].includes(r.status), r.text);
  const jobId = r.body.chat_job.id;
  const end = Date.now() + 60000;
  let job;
  for (;;) {
    job = (await c.get(`/api/chat-jobs/${jobId}`)).body.chat_job;
    if (job.status === 'completed' || job.status === 'failed') break;
    if (Date.now() > end) throw new Error(`chat job never ended: ${JSON.stringify(job)}\n${srv.proc.log.slice(-3000)}`);
    await sleep(200);
  }
  assert.equal(job.status, 'failed', JSON.stringify(job));
  assert.equal(job.error.code, 'llm_timeout', JSON.stringify(job));
  assert.match(job.error.message, /did not answer in time/);
  assert.doesNotMatch(job.error.message, /127\.0\.0\.1|https?:\/\//);
});

test('a hanging website: the ingestion fails with a message that says the site did not answer', async () => {
  const u = await userWithProject(srv, 'ingest-hang@example.com');
  const p = await u.c.request('PATCH', `/api/projects/${u.projectId}`, { website_url: site.url('/hang') });
  assert.equal(p.status, 200, p.text);
  const r = await u.c.post(`/api/projects/${u.projectId}/ingest`);
  assert.equal(r.status, 202, r.text);
  const end = Date.now() + 60000;
  let run;
  for (;;) {
    run = (await u.c.get(`/api/projects/${u.projectId}/ingestion`)).body.run;
    if (run && (run.status === 'completed' || run.status === 'failed')) break;
    if (Date.now() > end) throw new Error(`ingestion never ended: ${JSON.stringify(run)}\n${srv.proc.log.slice(-3000)}`);
    await sleep(200);
  }
  assert.equal(run.status, 'failed', JSON.stringify(run));
  assert.match(run.error, /did not answer in time/i, run.error);
  assert.doesNotMatch(run.error, /curl|errno/i, run.error);
});

test('a hanging Instagram during connect: 504 instagram_timeout, nothing connected', async () => {
  const u = await userWithProject(srv, 'ig-hang@example.com');
  ig.hangNext('code_exchange');
  const { done } = await within(connectInstagram(srv, u.c, u.projectId), 'connect');
  calmError(done, 504, 'instagram_timeout');
  const ch = await u.c.get(`/api/projects/${u.projectId}/channels`);
  assert.equal(ch.status, 200, ch.text);
  assert.notEqual(ch.body.instagram?.status, 'active', ch.text);
});

test('a hanging Lemon Squeezy: 504 billing_timeout for a checkout, no checkout stored', async () => {
  const u = apiClient(srv.url);
  assert.equal((await u.signup('ls-hang@example.com')).status, 201);
  await verifyEmail(u); // a paid plan applies only to a verified address
  ls.hangNext();
  const r = await within(u.post('/api/billing/checkout'), 'checkout');
  calmError(r, 504, 'billing_timeout');
  // With the provider back, the same user gets a checkout (nothing half-stored blocks it).
  const ok = await u.post('/api/billing/checkout');
  assert.equal(ok.status, 201, ok.text);
});

/** The item as its owner sees it. */
const itemOf = async (c, id) => (await c.get(`/api/content-items/${id}`)).body;
const publishEnded = (c, id) => waitFor(async () => {
  const it = await itemOf(c, id);
  return it.publish_status === 'published' || it.publish_status === 'failed' ? it : null;
}, `item ${id} published or failed`, 60000, 150);

test('a hanging Instagram during the publish job: each step fails the post with publish_timeout, and a retry publishes once', async () => {
  const u = await userWithProject(srv, 'ig-publish-hang@example.com');
  assert.equal((await connectInstagram(srv, u.c, u.projectId)).done.status, 200);
  const it = await renderedItem(u.c, u.projectId, 'instagram');
  const id = it.id;
  psql(db.url, `UPDATE content_items SET draft = jsonb_set(draft, '{variants,instagram,caption}', to_jsonb('Hang test #${id}#'::text)),
    publish_strategy = 'direct_instagram', publish_status = 'scheduled', scheduled_at = now(),
    publish_attempt = publish_attempt + 1 WHERE id = ${id}`);
  const containers = () => [...ig.state.containers.values()].filter((x) => x.caption.includes(`#${id}#`));
  const published = () => containers().reduce((n, x) => n + ig.publishCount(x.id), 0);
  // The retry a user makes from the studio: schedule the failed post again (here a minute
  // ahead, then made due at once so the test does not wait for the minute).
  const retry = async () => {
    const at = new Date(Date.now() + 60000).toISOString().slice(0, 16) + 'Z';
    const r = await u.c.post(`/api/content-items/${id}/schedule`, { at });
    assert.equal(r.status, 200, r.text);
    psql(db.url, `UPDATE content_items SET scheduled_at = now() WHERE id = ${id}`);
  };
  for (const [op, step, rest] of [
    ['create', 'creating the media container', /Nothing was published/],
    ['status', 'checking the container', /Nothing was published/],
    ['publish', 'publishing the container', /never posts it twice/],
  ]) {
    ig.hangNext(op);
    if (op !== 'create') await retry();
    const failed = await publishEnded(u.c, id);
    assert.equal(failed.publish_status, 'failed', `${op}: ${JSON.stringify(failed)}`);
    assert.ok(failed.publish_error.startsWith(`publish_timeout: Instagram did not answer in time while ${step}`),
      `${op}: ${failed.publish_error}`);
    assert.match(failed.publish_error, rest);
    assert.doesNotMatch(failed.publish_error, /127\.0\.0\.1|https?:\/\/|\bms\b|curl/, failed.publish_error);
    assert.equal(failed.published_at ?? null, null, `${op}: nothing is marked published`);
    assert.equal(published(), 0, `${op}: nothing reached the account`);
  }
  assert.ok(ig.state.containers.size > 0);
  // Instagram answers again: the retry publishes, exactly once.
  await retry();
  const done = await publishEnded(u.c, id);
  assert.equal(done.publish_status, 'published', done.publish_error);
  assert.equal(published(), 1);
});

test('a hanging AI provider during the week\'s pack: generate-posts, regenerate, analyze and generate-next answer 504 llm_timeout, every charge is refunded, nothing is stored', async () => {
  // The week's data and its analysis are made by a working server (mock AI) on the same database.
  const working = await startServer({ dbUrl: db.url, migrate: false, env: { MOCK_MODE: 'true', CLIPLOOP_WORKERS: '0' } });
  let W;
  try {
    W = await publishedWeek(working, db.url, 'pack-hang@example.com', '2026-11-23');
    assert.equal((await W.c.post(`/api/strategy-cycles/${W.cycleId}/analyze`)).status, 201);
  } finally {
    await working.stop();
  }
  const c = apiClient(srv.url);
  c.cookie = W.c.cookie;
  c.csrf = W.c.csrf;
  const [[mark]] = psql(db.url, 'SELECT coalesce(max(id), 0) FROM credit_ledger_entries');
  const before = (await c.get('/api/me/credits')).body.generation.balance;
  const count = (sql) => Number(psql(db.url, sql)[0][0]);
  const analyses = count(`SELECT count(*) FROM cycle_analyses WHERE cycle_id = ${W.cycleId}`);

  const empty = await c.post(`/api/projects/${W.projectId}/strategy-cycles`, { week_start: '2026-12-14' });
  const emptyId = empty.body.cycle.id;
  let r = await within(c.post(`/api/strategy-cycles/${emptyId}/generate-posts`, { request_id: 'pack-hang-0001' }), 'generate-posts');
  calmError(r, 504, 'llm_timeout');
  assert.equal(count(`SELECT count(*) FROM content_items WHERE cycle_id = ${emptyId}`), 0);
  assert.equal((await c.get(`/api/strategy-cycles/${emptyId}`)).body.cycle.pack_status, 'none');

  // A post of another week, still a draft, to regenerate.
  const other = (await c.post(`/api/projects/${W.projectId}/strategy-cycles`, { week_start: '2026-12-21' })).body.cycle.id;
  const [[targetId]] = psql(db.url, `INSERT INTO content_items (user_id, project_id, cycle_id, position, source, channel, title,
    draft, brief, status) SELECT user_id, project_id, ${other}, 1, 'cycle', channel, title, draft, brief, 'draft'
    FROM content_items WHERE id = ${W.items[0]} RETURNING id`);
  const target = { id: Number(targetId) };
  r = await within(c.post(`/api/content-items/${target.id}/regenerate`, { request_id: 'regen-hang-0001' }), 'regenerate');
  calmError(r, 504, 'llm_timeout');
  const [[status, parents]] = psql(db.url, `SELECT publish_status, (SELECT count(*) FROM content_items WHERE parent_id = ${target.id})
    FROM content_items WHERE id = ${target.id}`);
  assert.notEqual(status, 'skipped', 'the old version is kept in place');
  assert.equal(parents, '0', 'no new version');

  r = await within(c.post(`/api/strategy-cycles/${W.cycleId}/analyze`), 'analyze');
  calmError(r, 504, 'llm_timeout');
  assert.equal(count(`SELECT count(*) FROM cycle_analyses WHERE cycle_id = ${W.cycleId}`), analyses);

  r = await within(c.post(`/api/strategy-cycles/${W.cycleId}/generate-next`, { request_id: 'next-hang-0001' }), 'generate-next');
  calmError(r, 504, 'llm_timeout');
  assert.equal(count(`SELECT count(*) FROM strategy_cycles WHERE parent_cycle_id = ${W.cycleId}`), 0);

  // The ledger: each paid call charged and refunded (same amount), nothing kept.
  const rows = psql(db.url, `SELECT reason, amount, reference_key FROM credit_ledger_entries
    WHERE user_id = ${W.uid} AND id > ${mark} ORDER BY id`).map(([reason, amount, key]) => [reason, Number(amount), key]);
  const charges = rows.filter((x) => x[0] === 'charge');
  assert.equal(charges.length, 3, JSON.stringify(rows)); // generate-posts, regenerate, generate-next (analyze is free)
  for (const [, amount, key] of charges)
    assert.ok(rows.some((x) => x[0] === 'refund' && x[1] === -amount && x[2] === `refund:${key}`), `${key} refunded: ${JSON.stringify(rows)}`);
  assert.equal(rows.filter((x) => x[0] === 'charge' || x[0] === 'refund').reduce((s, x) => s + x[1], 0), 0);
  assert.equal((await c.get('/api/me/credits')).body.generation.balance, before);
});
