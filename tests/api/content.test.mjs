// Content items and rendering end to end: a signed-in user stores a draft,
// asks for a render (one render credit, charged once even on a double
// click), the worker process renders it with the in-process FFmpeg renderer,
// and the MP4 + thumbnail are served owner-only with Range support. A render
// that fails for good is refunded by a compensating ledger entry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, startServer, apiClient, psql, betaUser, RENDER_WAIT_MS } from './lib/harness.mjs';
import { DRAFT as PUBLISH_DRAFT, PROJECT as PUBLISH_PROJECT } from './lib/publishing.mjs';

let db, srv, storage;

const DRAFT = { ...PUBLISH_DRAFT, variants: { tiktok: PUBLISH_DRAFT.variants.tiktok } };

const PROJECT = { ...PUBLISH_PROJECT, preferred_channels: ['tiktok'] };

const signedIn = (email) => betaUser(srv.url, email);

async function waitForItem(c, id, pred, ms = RENDER_WAIT_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const r = await c.get(`/api/content-items/${id}`);
    if (pred(r.body)) return r.body;
    if (Date.now() > end) throw new Error(`item never reached the state: ${JSON.stringify(r.body)}\n${srv.proc.log.slice(-3000)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

before(async () => {
  db = createDatabase('content');
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-storage-'));
  srv = await startServer({
    dbUrl: db.url,
    env: { MOCK_MODE: 'true', CLIPLOOP_WORKERS: '1', CLIPLOOP_STORAGE_DIR: storage, CLIPLOOP_JOB_POLL_MS: '100',
      CLIPLOOP_JOB_BACKOFF_MS: '100', CLIPLOOP_JOB_MAX_ATTEMPTS: '2' },
  });
});

after(async () => {
  if (srv) await srv.stop();
  if (db) db.drop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

test('store a draft, render it once, stream the video with Range, keep it owner-only', async () => {
  const c = await signedIn('ada@example.com');
  const p = await c.post('/api/projects', PROJECT);
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const projectId = p.body.project?.id ?? p.body.id;

  // Bad input is a field error, never a partial write.
  let r = await c.post('/api/content-items', { project_id: projectId, channel: 'myspace', draft: DRAFT });
  assert.equal(r.status, 422);
  assert.ok(r.body.error.fields.channel);
  r = await c.post('/api/content-items', { project_id: projectId, channel: 'tiktok', draft: { hook: 'x' } });
  assert.equal(r.status, 422);
  assert.ok(r.body.error.fields.draft);
  assert.equal(psql(db.url, 'SELECT count(*) FROM content_items')[0][0], '0');

  r = await c.post('/api/content-items', { project_id: projectId, channel: 'tiktok', draft: DRAFT, title: 'Weekend jollof' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const item = r.body;
  assert.equal(item.status, 'draft');
  assert.deepEqual(item.assets, []);

  const before = (await c.get('/api/me/credits')).body;
  // A double click: two render requests at once charge one credit and queue one job.
  const [a, b] = await Promise.all([c.post(`/api/content-items/${item.id}/render`), c.post(`/api/content-items/${item.id}/render`)]);
  assert.deepEqual([a.status, b.status], [202, 202], JSON.stringify([a.body, b.body]));
  assert.equal(a.body.job.id, b.body.job.id);
  assert.equal([a.body, b.body].filter((x) => x.already_rendering).length, 1);
  const charged = [a.body, b.body].find((x) => !x.already_rendering).receipt;
  assert.equal(charged.amount, -1);
  assert.equal(charged.kind, 'render');
  const mid = (await c.get('/api/me/credits')).body;
  assert.equal(JSON.stringify(mid).includes('render'), true);

  // The item is marked rendered inside the render job; the job row itself is
  // completed by the worker right after: wait for both.
  const done = await waitForItem(c, item.id, (x) => x.status === 'render_failed' ||
    (x.status === 'rendered' && x.render_job && x.render_job.status === 'completed'));
  assert.equal(done.status, 'rendered', JSON.stringify(done));
  assert.equal(done.render_job.status, 'completed');
  assert.ok(done.render_job.progress_total > 0);
  assert.equal(done.render_job.progress_done, done.render_job.progress_total);
  const video = done.assets.find((x) => x.kind === 'video');
  const thumb = done.assets.find((x) => x.kind === 'thumbnail');
  assert.ok(video && thumb, JSON.stringify(done.assets));
  // Beside the full thumbnail, the small one for cards: a 360x640 JPEG made by the render job.
  const small = done.assets.find((x) => x.kind === 'thumbnail_small');
  assert.ok(small && small.render_seq === thumb.render_seq && small.mime === 'image/jpeg', JSON.stringify(done.assets));
  assert.match(psql(db.url, `SELECT path FROM content_assets WHERE id = ${small.id}`)[0][0], /-r1\/thumbnail-360\.jpg$/);
  const smallBytes = Buffer.from(await (await fetch(srv.url + small.url, { headers: { cookie: c.cookie } })).arrayBuffer());
  assert.equal(smallBytes.length, small.bytes);
  assert.ok(small.bytes < thumb.bytes / 3, `${small.bytes} of ${thumb.bytes} bytes`);
  const sdir = mkdtempSync(path.join(tmpdir(), 'cliploop-thumb-'));
  writeFileSync(path.join(sdir, 't.jpg'), smallBytes);
  const sprobe = JSON.parse(spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'json',
    path.join(sdir, 't.jpg')], { encoding: 'utf8' }).stdout);
  rmSync(sdir, { recursive: true, force: true });
  assert.deepEqual(sprobe.streams.map((x) => [x.codec_name, x.width, x.height]), [['mjpeg', 360, 640]]);
  const rel = psql(db.url, `SELECT path FROM content_assets WHERE id = ${video.id}`)[0][0];
  assert.match(rel, new RegExp(`^generated/content-items/${item.id}/\\d{8}T\\d{6}Z-r1/rendered\\.mp4$`));

  // The file: right type, length, seekable.
  const full = await fetch(srv.url + video.url, { headers: { cookie: c.cookie } });
  assert.equal(full.status, 200);
  assert.equal(full.headers.get('content-type'), 'video/mp4');
  const bytes = Buffer.from(await full.arrayBuffer());
  assert.equal(bytes.length, video.bytes);
  assert.equal(bytes.subarray(4, 8).toString('latin1'), 'ftyp');
  const part = await fetch(srv.url + video.url, { headers: { cookie: c.cookie, range: 'bytes=100-199' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 100-199/${bytes.length}`);
  assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(100, 200));
  const dl = await fetch(srv.url + video.download_url, { headers: { cookie: c.cookie } });
  assert.match(dl.headers.get('content-disposition'), /attachment; filename="cliploop-\d+-video\.mp4"/);
  await dl.arrayBuffer();

  // The rendered video is what the composition says: H.264 1080x1920 with an AAC track.
  const dir = mkdtempSync(path.join(tmpdir(), 'cliploop-probe-'));
  writeFileSync(path.join(dir, 'v.mp4'), bytes);
  const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', path.join(dir, 'v.mp4')], { encoding: 'utf8' });
  rmSync(dir, { recursive: true, force: true });
  const streams = JSON.parse(probe.stdout).streams;
  assert.ok(streams.some((s) => s.codec_name === 'h264' && s.width === 1080 && s.height === 1920), probe.stdout);
  assert.ok(streams.some((s) => s.codec_name === 'aac'), probe.stdout);

  const t = await fetch(srv.url + thumb.url, { headers: { cookie: c.cookie } });
  assert.equal(t.status, 200);
  assert.equal(t.headers.get('content-type'), 'image/jpeg');
  const jpg = Buffer.from(await t.arrayBuffer());
  assert.deepEqual([...jpg.subarray(0, 2)], [0xff, 0xd8]);

  // Exactly one render credit moved, and the ledger says why.
  const tx = (await c.get('/api/me/transactions')).body;
  const renders = JSON.stringify(tx).match(/content_item\.render/g) || [];
  assert.ok(renders.length >= 1);
  assert.equal(psql(db.url, `SELECT count(*) FROM credit_ledger_entries WHERE reference_key LIKE 'content_item:${item.id}:render:%'`)[0][0], '1');

  // Another user sees none of it.
  const eve = await signedIn('eve@example.com');
  assert.equal((await eve.get(`/api/content-items/${item.id}`)).status, 404);
  assert.equal((await eve.post(`/api/content-items/${item.id}/render`)).status, 404);
  const stolen = await fetch(srv.url + video.url, { headers: { cookie: eve.cookie } });
  assert.equal(stolen.status, 404);
  assert.equal((await eve.post('/api/content-items', { project_id: projectId, channel: 'tiktok', draft: DRAFT })).status, 404);
  assert.equal((await fetch(srv.url + video.url)).status, 401);
  assert.deepEqual((await eve.get('/api/content-items')).body.items, []);
  assert.equal((await c.get('/api/content-items')).body.items.length, 1);
});

test('no render credits: 402 with what is needed, nothing queued', async () => {
  const c = await signedIn('poor@example.com');
  const p = await c.post('/api/projects', { ...PROJECT, name: 'Poor Kitchen' });
  const projectId = p.body.project?.id ?? p.body.id;
  const item = (await c.post('/api/content-items', { project_id: projectId, channel: 'tiktok', draft: DRAFT })).body;
  await c.get('/api/me/credits'); // applies the month's grant
  const uid = psql(db.url, "SELECT id FROM users WHERE email = 'poor@example.com'")[0][0];
  psql(db.url, `UPDATE credit_accounts SET render_balance = 0 WHERE user_id = ${uid}`);
  const r = await c.post(`/api/content-items/${item.id}/render`);
  assert.equal(r.status, 402, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'insufficient_credits');
  assert.equal(psql(db.url, `SELECT status, render_job_id IS NULL FROM content_items WHERE id = ${item.id}`)[0].join(','), 'draft,t');
  assert.equal(psql(db.url, "SELECT count(*) FROM jobs WHERE kind = 'render.content_item' AND payload->>'content_item_id' = '" + item.id + "'")[0][0], '0');
});

test('a render that fails for good is marked failed and its credit refunded', async () => {
  // A second server on the same database whose renderer is loaded but switched
  // off: the render fails permanently (CL_EUNSUPPORTED naming the setting). An
  // unknown RENDERER no longer gets this far: the host refuses to start.
  const broken = await startServer({
    dbUrl: db.url, migrate: false,
    env: { MOCK_MODE: 'true', CLIPLOOP_WORKERS: '1', CLIPLOOP_STORAGE_DIR: storage, RENDERER: 'hyperframes',
      HYPERFRAMES_ENABLED: 'false', CLIPLOOP_JOB_POLL_MS: '100' },
  });
  try {
    await srv.stop(); // only the broken server's worker may pick the job up
    srv = broken;
    const c = await signedIn('unlucky@example.com');
    const p = await c.post('/api/projects', { ...PROJECT, name: 'Unlucky Kitchen' });
    const projectId = p.body.project?.id ?? p.body.id;
    const item = (await c.post('/api/content-items', { project_id: projectId, channel: 'tiktok', draft: DRAFT })).body;
    const credits0 = (await c.get('/api/me/credits')).body;
    const r = await c.post(`/api/content-items/${item.id}/render`);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    // The credit was taken up front: the answer carries the charge's receipt
    // (reading the balance here raced the worker, which may already have refunded it).
    assert.equal(r.body.receipt?.amount ?? r.body.render?.receipt?.amount, -1, JSON.stringify(r.body));
    const done = await waitForItem(c, item.id, (x) => x.status === 'render_failed' || x.status === 'rendered');
    assert.equal(done.status, 'render_failed', JSON.stringify(done));
    assert.match(done.render_error, /HYPERFRAMES_ENABLED/);
    const rows = psql(db.url, `SELECT reason, amount FROM credit_ledger_entries WHERE reference_key LIKE '%content_item:${item.id}:render:1' ORDER BY id`);
    assert.deepEqual(rows.map((k) => k.join(':')), ['charge:-1', 'refund:1']);
    assert.deepEqual((await c.get('/api/me/credits')).body, credits0);
  } finally {
    await broken.stop();
  }
});
