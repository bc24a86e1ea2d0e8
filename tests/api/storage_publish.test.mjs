// Publishing with STORAGE=s3: the rendered video lives only in the bucket
// (tests/fakes/s3.mjs). The mock publisher gets a local copy (downloaded for
// the job, removed afterwards); Instagram gets presigned URLs of the bucket
// as video_url and cover, and the fake Instagram API downloads the exact
// stored bytes from them, as the real service does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, psql, startProcess } from './lib/harness.mjs';
import { startInstagramFake } from '../fakes/instagram_fake.mjs';
import { startFakeS3 } from '../fakes/s3.mjs';
import { startPublishingServer, userWithProject, connectInstagram, renderedItem, waitFor } from './lib/publishing.mjs';

let db, srv, fake, s3, storage, ada;
const WORKER_ENV = {
  CLIPLOOP_JOB_BACKOFF_MS: '100', CLIPLOOP_JOB_POLL_MS: '100', CLIPLOOP_SCHEDULER_TICK_MS: '200',
  CLIPLOOP_PUBLISH_POLL_MS: '50',
};

before(async () => {
  db = createDatabase('storagepub');
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-storagepub-'));
  fake = await startInstagramFake();
  s3 = await startFakeS3();
  srv = await startPublishingServer({ db, fake, storage, env: s3.env });
  ada = await userWithProject(srv, 'ada@example.com');
});

after(async () => {
  if (srv) await srv.stop();
  if (fake) await fake.close();
  if (s3) await s3.close();
  if (db) db.drop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

function scheduleNow(id) {
  psql(db.url, `UPDATE content_items SET publish_strategy = 'direct_instagram', publish_status = 'scheduled',
    scheduled_at = now(), publish_attempt = publish_attempt + 1, publish_job_id = NULL, manual_status = NULL WHERE id = ${id}`);
}
const finished = (id) => waitFor(() => {
  const [[t]] = psql(db.url, `SELECT row_to_json(i)::text FROM content_items i WHERE id = ${id}`);
  const it = JSON.parse(t);
  return it.publish_status === 'published' || it.publish_status === 'failed' ? it : null;
}, `item ${id} published or failed`, 60000, 100);
const asset = (id, kind) => {
  const [[key, st, sha]] = psql(db.url, `SELECT path, storage, sha256 FROM content_assets WHERE content_item_id = ${id} AND kind = '${kind}'`);
  return { key, storage: st, sha };
};

test('the mock publisher reads the video through the bucket; the download is removed after the job', async () => {
  const w = startProcess(['worker'], { ...srv.env, ...WORKER_ENV });
  try {
    const item = await renderedItem(ada.c, ada.projectId, 'instagram');
    const v = asset(item.id, 'video');
    assert.equal(v.storage, 's3');
    assert.ok(s3.objectBytes(v.key), 'the video is in the bucket');
    assert.equal(existsSync(path.join(storage, v.key)), false, 'and not on the local disk');
    scheduleNow(item.id);
    const it = await finished(item.id);
    assert.equal(it.publish_status, 'published', it.publish_error);
    assert.equal(it.publisher, 'mock');
    assert.deepEqual(readdirSync(path.join(storage, 'tmp', 'storage')), [], 'no download left behind');
  } finally {
    await w.stop();
  }
});

test('Instagram pulls the video and the cover from presigned bucket URLs: the exact stored bytes', async () => {
  const { done } = await connectInstagram(srv, ada.c, ada.projectId);
  assert.equal(done.status, 200, done.text);
  const w = startProcess(['worker'], { ...srv.env, ...WORKER_ENV });
  try {
    const item = await renderedItem(ada.c, ada.projectId, 'instagram');
    const v = asset(item.id, 'video'), t = asset(item.id, 'thumbnail');
    scheduleNow(item.id);
    const it = await finished(item.id);
    assert.equal(it.publish_status, 'published', it.publish_error);
    assert.equal(it.publisher, 'instagram');
    const [c] = [...fake.state.containers.values()].filter((x) => x.id === it.publish_container_id);
    assert.ok(c, 'a container was created');
    const prefix = (key) => `${s3.endpoint}/${s3.bucket}/${key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&`;
    assert.ok(c.videoUrl.startsWith(prefix(v.key)), c.videoUrl);
    assert.match(c.videoUrl, /X-Amz-Expires=86400&/); // CLIPLOOP_PUBLIC_MEDIA_TTL_SECONDS
    assert.ok(c.coverUrl.startsWith(prefix(t.key)), c.coverUrl);
    assert.equal(c.fetchedSha256, v.sha, 'Instagram downloaded the stored video');
    assert.equal(c.fetchedType, 'video/mp4');
    assert.ok(s3.requests.some((q) => q.method === 'GET' && q.auth === 'query' && q.path.endsWith(v.key) && q.status === 200));
  } finally {
    await w.stop();
  }
});
