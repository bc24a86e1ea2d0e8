// Fault suite: upstreams that never answer. Each fake keeps the connection
// open without a byte of answer (its "hang" mode): the AI provider (the
// OpenAI-compatible plugin against tests/fakes/llm_fake.mjs: a brief on the
// request path, a chat message as a job), a website being
// ingested (tests/fakes/http_fake.mjs /hang), Instagram (the code exchange
// of the connect flow) and Lemon Squeezy (a checkout). Every outbound call
// runs under its plugin's deadline (set to 1 s here), and the user gets that
// upstream's own error code with a calm message instead of a request that
// hangs or a generic 500. While they hang, the server keeps answering others.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, apiClient, demoProject, verifyEmail } from './lib/harness.mjs';
import { startPublishingServer, userWithProject, connectInstagram } from './lib/publishing.mjs';
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
      INSTAGRAM_TIMEOUT_MS: '1000',
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
