// Publishing a scheduled item through the publisher plugins, against the
// fake Instagram API: success (the fake downloads the video from the public
// media URL), each transient error (retried) and each permanent one (failed
// with the platform's message), the account's quota, the plan's 20 publishes
// per month, an invalid token (channel invalid), the mock publisher in
// MOCK_MODE — and exactly once under SIGKILL: the worker is killed after the
// container was created (before media_publish), and after media_publish
// (before the result was stored); every item ends published exactly once on
// the fake's side, and none stays in `publishing` — also when the job's lease
// expires on its last attempt.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, psql, startProcess } from './lib/harness.mjs';
import { startInstagramFake } from '../fakes/instagram_fake.mjs';
import {
  startPublishingServer, userWithProject, connectInstagram, renderedItem, copyItem, waitFor,
} from './lib/publishing.mjs';

let db, srv, fake, storage, ada, base;
const workers = new Set();

const WORKER_ENV = {
  CLIPLOOP_JOB_LEASE_MS: '1500', CLIPLOOP_JOB_BACKOFF_MS: '100', CLIPLOOP_JOB_POLL_MS: '100',
  CLIPLOOP_SCHEDULER_TICK_MS: '200', CLIPLOOP_PUBLISH_POLL_MS: '50', CLIPLOOP_JOB_MAX_ATTEMPTS: '4',
};

function startWorker(env = {}) {
  const w = startProcess(['worker'], { ...srv.env, ...WORKER_ENV, ...env });
  workers.add(w);
  return w;
}
/** Run fn with a worker (WORKER_ENV plus env) that is stopped afterwards, whatever fn did. */
async function withWorker(fn, env = {}) {
  const w = startWorker(env);
  try {
    return await fn(w);
  } finally {
    await stopWorker(w);
  }
}
async function stopWorker(w, sig = 'SIGTERM') {
  await w.stop(sig);
  workers.delete(w);
}

/** Make item id a due direct_instagram item (attempt n): the worker's scheduler picks it up. */
function scheduleNow(id) {
  psql(db.url, `UPDATE content_items SET publish_strategy = 'direct_instagram', publish_status = 'scheduled',
    scheduled_at = now(), publish_attempt = publish_attempt + 1, publish_job_id = NULL, manual_status = NULL WHERE id = ${id}`);
}
function item(id) {
  const [r] = psql(db.url, `SELECT row_to_json(i)::text FROM content_items i WHERE id = ${id}`);
  return JSON.parse(r[0]);
}
const finished = (id) => waitFor(() => {
  const it = item(id);
  return it.publish_status === 'published' || it.publish_status === 'failed' ? it : null;
}, `item ${id} published or failed`, 60000, 100);
const containersOf = (id) => [...fake.state.containers.values()].filter((c) => c.caption.includes(`#${id}#`) || c.itemId === id);

before(async () => {
  db = createDatabase('publish');
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-publish-'));
  fake = await startInstagramFake();
  srv = await startPublishingServer({ db, fake, storage });
  ada = await userWithProject(srv, 'ada@example.com');
  const w = startWorker();
  try {
    base = await renderedItem(ada.c, ada.projectId, 'instagram');
  } finally {
    await stopWorker(w);
  }
});

after(async () => {
  for (const w of workers) await w.stop('SIGKILL');
  if (srv) await srv.stop();
  if (fake) await fake.close();
  if (db) db.drop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

/** A fresh copy of the rendered item whose caption names it, so the fake's containers can be told apart. */
function newItem(channel = 'instagram') {
  const id = copyItem(db.url, base.id, channel);
  psql(db.url, `UPDATE content_items SET draft = jsonb_set(draft, '{variants,instagram,caption}', to_jsonb('Half-price party jollof all weekend #${id}#'::text)) WHERE id = ${id}`);
  return id;
}

test('MOCK_MODE without a channel: the mock publisher publishes, with a remote id and a permalink', () => withWorker(async () => {
  const id = newItem();
  scheduleNow(id);
  const it = await finished(id);
  assert.equal(it.publish_status, 'published', it.publish_error);
  assert.equal(it.publisher, 'mock');
  assert.match(it.remote_media_id, /^mockm_[0-9a-f]{24}$/);
  assert.match(it.permalink, /^https:\/\/mock-platform\.cliploop\.invalid\/reel\/[0-9a-f]{24}$/);
  assert.ok(it.published_at);
  assert.equal(fake.totalPublishes(), 0, 'the mock never talks to Instagram');
  const [[count]] = psql(db.url, `SELECT count FROM usage_counters WHERE user_id = ${ada.c.user.id} AND metric = 'publishes' AND window_kind = 'month'`);
  assert.equal(count, '1');
  const api = await ada.c.get(`/api/content-items/${id}`);
  assert.equal(api.body.permalink, it.permalink);
}));

test('Instagram: connected channel publishes once; the fake downloads the exact video from the public URL', async () => {
  const { done } = await connectInstagram(srv, ada.c, ada.projectId);
  assert.equal(done.status, 200, done.text);
  const w = startWorker();
  try {
    const id = newItem();
    scheduleNow(id);
    const it = await finished(id);
    assert.equal(it.publish_status, 'published', it.publish_error);
    assert.equal(it.publisher, 'instagram');
    const [c] = containersOf(id);
    assert.ok(c, 'a container was created');
    assert.equal(it.publish_container_id, c.id);
    assert.equal(fake.publishCount(c.id), 1);
    assert.equal(it.remote_media_id, c.mediaId);
    assert.equal(it.permalink, fake.state.media.get(c.mediaId).permalink);
    // The public media URL served the rendered file itself.
    assert.match(c.videoUrl, new RegExp(`^${srv.url}/api/public/media/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$`));
    const file = readFileSync(path.join(storage, psql(db.url, `SELECT path FROM content_assets WHERE content_item_id = ${id} AND kind = 'video'`)[0][0]));
    assert.equal(c.fetchedBytes, file.length);
    assert.equal(c.fetchedSha256, crypto.createHash('sha256').update(file).digest('hex'));
    assert.equal(c.fetchedType, 'video/mp4');
    assert.match(c.coverUrl, /\/api\/public\/media\//);
    // Channel-aware caption: Instagram's variant and the hashtags.
    assert.match(c.caption, /^Half-price party jollof all weekend/);
    assert.match(c.caption, /#jollof #lagosfood$/);
    assert.equal(c.shareToFeed, 'true');
  } finally {
    await stopWorker(w);
  }
});

test('transient errors are retried: 5xx on create, rate limit and "not ready" on publish — still exactly once', () => withWorker(async () => {
  fake.failNext('create', { error: 'server' });
  fake.failNext('publish', { error: 'rate_limit' });
  fake.failNext('publish', { error: 'not_ready' });
  const id = newItem();
  scheduleNow(id);
  const it = await finished(id);
  assert.equal(it.publish_status, 'published', it.publish_error);
  const cs = containersOf(id);
  assert.equal(cs.length, 1, 'the failed create made no container; the retries reused the stored one');
  assert.equal(fake.publishCount(cs[0].id), 1);
  const events = psql(db.url, `SELECT count(*) FROM job_events WHERE job_id = ${it.publish_job_id} AND event = 'retry_scheduled'`);
  assert.equal(events[0][0], '3');
}));

test('permanent errors fail the item with the platform\'s message; nothing is published', () => withWorker(async () => {
  // Rejected at container creation (VIDEO instead of REELS style rejection).
  fake.failNext('create', { error: 'carousel' });
  let id = newItem();
  scheduleNow(id);
  let it = await finished(id);
  assert.equal(it.publish_status, 'failed');
  assert.match(it.publish_error, /carousel item.*2207089/);
  const [[jobStatus]] = psql(db.url, `SELECT status FROM jobs WHERE id = ${it.publish_job_id}`);
  assert.equal(jobStatus, 'failed', 'permanent: not retried');

  // The container ends ERROR (audio track problem).
  fake.options.containerOutcome = '2207082';
  id = newItem();
  scheduleNow(id);
  it = await finished(id);
  fake.options.containerOutcome = null;
  assert.equal(it.publish_status, 'failed');
  assert.match(it.publish_error, /audio.*2207082/);
  assert.equal(fake.publishCount(containersOf(id)[0].id), 0);

  // A transient error that never ends: failed after the last attempt, with the last message.
  fake.failNext('create', { error: 'server', times: 10 });
  id = newItem();
  scheduleNow(id);
  it = await finished(id);
  fake.reset();
  assert.equal(it.publish_status, 'failed');
  assert.match(it.publish_error, /^gave up after 4 attempts: Instagram is unavailable \(HTTP 500\)/);
  assert.equal(containersOf(id).length, 0);
}));

test('still processing after the poll budget, and an expired container: retried later, published once', async () => {
  assert.equal((await connectInstagram(srv, ada.c, ada.projectId)).done.status, 200);
  const w = startWorker({ CLIPLOOP_PUBLISH_POLL_BUDGET_MS: '300' });
  const retried = (jobId, re) => waitFor(() => {
    const rows = psql(db.url, `SELECT detail FROM job_events WHERE job_id = ${jobId} AND event = 'retry_scheduled'`);
    return rows.some((r) => re.test(r[0]));
  }, 'a retry', 20000, 100);
  try {
    // IN_PROGRESS longer than one attempt may wait: the job retries, resumes the same container.
    fake.options.processingPolls = 100000;
    let id = newItem();
    scheduleNow(id);
    await waitFor(() => item(id).publish_job_id, 'a job');
    await retried(item(id).publish_job_id, /still processing/);
    fake.options.processingPolls = 1;
    let it = await finished(id);
    assert.equal(it.publish_status, 'published', it.publish_error);
    assert.equal(containersOf(id).length, 1);
    assert.equal(fake.publishCount(it.publish_container_id), 1);

    // EXPIRED: the container is forgotten and the retry creates a new one.
    fake.options.expireContainers = true;
    id = newItem();
    scheduleNow(id);
    await waitFor(() => item(id).publish_job_id, 'a job');
    await retried(item(id).publish_job_id, /expired/);
    fake.options.expireContainers = false;
    it = await finished(id);
    assert.equal(it.publish_status, 'published', it.publish_error);
    const cs = containersOf(id);
    assert.ok(cs.length >= 2, 'a new container after the expired one');
    assert.deepEqual(cs.map((c) => c.publishes).sort(), [...Array(cs.length - 1).fill(0), 1]);
    assert.equal(it.publish_container_id, cs.find((c) => c.publishes === 1).id);
  } finally {
    fake.options.processingPolls = 1;
    fake.options.expireContainers = false;
    await stopWorker(w);
  }
});

test('quota and plan limit: checked before a container is created, failed clearly', () => withWorker(async () => {
  const saved = fake.state.quotaUsage;
  fake.state.quotaUsage = fake.options.quotaTotal;
  let id = newItem();
  scheduleNow(id);
  let it = await finished(id);
  fake.state.quotaUsage = saved;
  assert.equal(it.publish_status, 'failed');
  assert.match(it.publish_error, /^quota_exceeded: the account has used its publishing limit \(50 of 50 posts in 24 hours\)/);
  assert.equal(containersOf(id).length, 0);

  // The plan's 20 publishes a month (usage counters, not credits).
  const uid = ada.c.user.id;
  const [[before]] = psql(db.url, `SELECT count FROM usage_counters WHERE user_id = ${uid} AND metric = 'publishes' AND window_kind = 'month'`);
  psql(db.url, `UPDATE usage_counters SET count = 20 WHERE user_id = ${uid} AND metric = 'publishes' AND window_kind = 'month'`);
  id = newItem();
  scheduleNow(id);
  it = await finished(id);
  psql(db.url, `UPDATE usage_counters SET count = ${before} WHERE user_id = ${uid} AND metric = 'publishes' AND window_kind = 'month'`);
  assert.equal(it.publish_status, 'failed');
  assert.match(it.publish_error, /^plan_limit_reached: your Beta plan allows 20 publishes per month and 20 were used/);
  assert.equal(containersOf(id).length, 0);
}));

/**
 * Schedule a new item, let a worker run until the fake receives `op` (the
 * fake does the work but holds the answer back), SIGKILL the worker there,
 * and start a fresh one. Returns { id, cid, w }.
 */
async function killedAt(op, env = {}) {
  const first = startWorker(env);
  const id = newItem();
  const held = fake.holdNext(op);
  scheduleNow(id);
  await held;
  await stopWorker(first, 'SIGKILL');
  const stored = item(id);
  assert.equal(stored.publish_status, 'publishing');
  return { id, cid: stored.publish_container_id, job: stored.publish_job_id, w: startWorker(env) };
}

test('SIGKILL after the container was created, before media_publish: resumed from the stored container, published once', async () => {
  const { id, cid, w } = await killedAt('status');
  // The container id was in the database before the worker died.
  assert.ok(cid, 'container id stored the moment it was created');
  try {
    const it = await finished(id);
    assert.equal(it.publish_status, 'published', it.publish_error);
    assert.equal(it.publish_container_id, cid);
    assert.equal(containersOf(id).length, 1, 'no second container');
    assert.equal(fake.publishCount(cid), 1);
    const [[leaseExpired]] = psql(db.url, `SELECT count(*) FROM job_events WHERE job_id = ${it.publish_job_id} AND event = 'lease_expired'`);
    assert.equal(leaseExpired, '1');
  } finally {
    await stopWorker(w);
  }
});

test('SIGKILL after media_publish, before the result was stored: the container reports PUBLISHED, no second publish', async () => {
  // The fake published it; the answer never reached the worker.
  const { id, cid, w } = await killedAt('publish');
  assert.equal(fake.publishCount(cid), 1);
  assert.equal(item(id).remote_media_id, null);
  try {
    const it = await finished(id);
    assert.equal(it.publish_status, 'published', it.publish_error);
    assert.equal(fake.publishCount(cid), 1, 'published exactly once on the platform');
    assert.equal(fake.state.containers.get(cid).publishAttempts, 1, 'media_publish was not called again');
    assert.ok(it.publish_requested_at);
  } finally {
    await stopWorker(w);
  }
});

test('lease expiry on the last attempt: the item is not left publishing — a recovery job resumes it', async () => {
  // One attempt per job: the dead worker's lease expires, the reaper marks the job dead.
  const { id, job: first, w } = await killedAt('publish', { CLIPLOOP_JOB_MAX_ATTEMPTS: '1' });
  try {
    const it = await finished(id);
    assert.equal(it.publish_status, 'published', it.publish_error);
    const [[st]] = psql(db.url, `SELECT status FROM jobs WHERE id = ${first}`);
    assert.equal(st, 'dead');
    const [[key]] = psql(db.url, `SELECT idempotency_key FROM jobs WHERE id = ${it.publish_job_id}`);
    assert.equal(key, `publish:${id}:${it.publish_attempt}:recover`);
    assert.equal(fake.publishCount(it.publish_container_id), 1);
  } finally {
    await stopWorker(w);
  }
  const [[stuck]] = psql(db.url, `SELECT count(*) FROM content_items WHERE publish_status = 'publishing'`);
  assert.equal(stuck, '0');
});

test('six items, the worker SIGKILLed again and again at random moments: each published exactly once, none left publishing', async () => {
  assert.equal((await connectInstagram(srv, ada.c, ada.projectId)).done.status, 200);
  fake.options.delayMs = 60;
  fake.options.processingPolls = 3;
  const env = { CLIPLOOP_JOB_MAX_ATTEMPTS: '30' };
  const ids = Array.from({ length: 6 }, () => newItem());
  let w = startWorker(env);
  let kills = 0;
  try {
    for (const id of ids) scheduleNow(id);
    const open = () => ids.filter((id) => !['published', 'failed'].includes(item(id).publish_status));
    // Kill at random moments while work is in flight (bounded, so the test ends).
    while (open().length && kills < 8) {
      await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 600)));
      await stopWorker(w, 'SIGKILL');
      kills++;
      w = startWorker(env);
    }
    for (const id of ids) await finished(id);
  } finally {
    fake.options.delayMs = 0;
    fake.options.processingPolls = 1;
    await stopWorker(w);
  }
  console.log(`# ${kills} SIGKILLs while publishing ${ids.length} items`);
  assert.ok(kills >= 1);
  for (const id of ids) {
    const it = item(id);
    assert.equal(it.publish_status, 'published', `item ${id}: ${it.publish_error}`);
    const cs = containersOf(id);
    assert.equal(cs.reduce((n, c) => n + c.publishes, 0), 1, `item ${id} published exactly once on the platform`);
    assert.equal(it.publish_container_id, cs.find((c) => c.publishes === 1).id);
  }
  const [[stuck]] = psql(db.url, `SELECT count(*) FROM content_items WHERE publish_status = 'publishing'`);
  assert.equal(stuck, '0');
});

test('an invalid token marks the channel invalid and fails the item; without MOCK_MODE there is no silent fallback', async () => {
  assert.equal((await connectInstagram(srv, ada.c, ada.projectId)).done.status, 200);
  const w = startWorker();
  try {
    fake.revokeAll();
    const id = newItem();
    scheduleNow(id);
    const it = await finished(id);
    assert.equal(it.publish_status, 'failed');
    assert.match(it.publish_error, /^channel_invalid: Instagram refused the access token/);
    const [[status]] = psql(db.url, `SELECT status FROM channel_connections WHERE project_id = ${ada.projectId}`);
    assert.equal(status, 'invalid');
  } finally {
    await stopWorker(w);
  }
  // MOCK_MODE=false, channel not active: channel_not_connected (the mock is not even loaded).
  const w2 = startWorker({ MOCK_MODE: 'false' });
  try {
    const id = newItem();
    scheduleNow(id);
    const it = await finished(id);
    assert.equal(it.publish_status, 'failed');
    assert.equal(it.publish_error, 'channel_not_connected');
    await w2.waitForLog(/publish_mock\.so: publisher 'mock' is a mock and is loaded only with MOCK_MODE=true/, 5000);
  } finally {
    await stopWorker(w2);
  }
  const total = [...fake.state.containers.values()].reduce((n, c) => n + c.publishes, 0);
  const many = [...fake.state.containers.values()].filter((c) => c.publishes > 1);
  assert.deepEqual(many, [], 'no container was ever published twice');
  assert.ok(total >= 5);
});
