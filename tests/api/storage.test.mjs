// Storage as a capability: the storage_s3 plugin's real code path against a
// local S3-compatible store (tests/fakes/s3.mjs: s3rver behind a front that
// recomputes every SigV4 signature), driven through `cliploop storage` —
// put, get, range reads, multipart upload, presigned URLs, wrong
// credentials, an endpoint that is down or hangs, missing configuration —
// and the create flow (render, download, export bundle, delete) run end to
// end once with STORAGE=local and once with STORAGE=s3, with the same
// asset assertions.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, apiClient, createDatabase, freePort, psql, startServer } from './lib/harness.mjs';
import { startFakeS3 } from '../fakes/s3.mjs';
import { DRAFT } from './lib/publishing.mjs';

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');

/** Run `cliploop storage …` without blocking the event loop (the fake S3 lives in this process). */
function storageCmd(args, env, { timeoutMs = 60000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(BIN, ['storage', ...args], {
      env: { ...process.env, CLIPLOOP_ENV_FILE: '/dev/null', CLIPLOOP_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = [], errs = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => errs.push(d));
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (status, signal) => {
      clearTimeout(killer);
      resolve({ status, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(errs).toString() });
    });
  });
}

describe('storage_s3 through cliploop storage', () => {
  let s3, dir, env;
  const small = Buffer.from('hello from ClipLoop storage, 0123456789');
  let big;

  before(async () => {
    s3 = await startFakeS3();
    dir = mkdtempSync(path.join(tmpdir(), 'cliploop-s3cli-'));
    env = { ...s3.env, CLIPLOOP_STORAGE_DIR: dir, STORAGE_S3_PART_SIZE: String(5 * 1024 * 1024) };
    writeFileSync(path.join(dir, 'small.txt'), small);
    big = crypto.randomBytes(11 * 1024 * 1024 + 123);
    writeFileSync(path.join(dir, 'big.bin'), big);
  });
  after(async () => {
    if (s3) await s3.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('put, stat, range read, get and remove, every request signed', async () => {
    s3.requests.length = 0;
    let r = await storageCmd(['put', 'docs/a/small.txt', path.join(dir, 'small.txt'), 'text/plain'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { key: 'docs/a/small.txt', storage: 's3', bytes: small.length, sha256: sha256(small) });
    assert.deepEqual(s3.objectBytes('docs/a/small.txt'), small);

    r = await storageCmd(['stat', 'docs/a/small.txt'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).bytes, small.length);

    r = await storageCmd(['read', 'docs/a/small.txt', '6', '4'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'from');
    // a range that runs past the end gets what there is
    r = await storageCmd(['read', 'docs/a/small.txt', String(small.length - 3), '100'], env);
    assert.equal(r.stdout.toString(), '789');
    // a range that starts past the end is refused, clearly
    r = await storageCmd(['read', 'docs/a/small.txt', String(small.length + 5), '10'], env);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /CL_EINVAL.*range not satisfiable/);

    const out = path.join(dir, 'small.out');
    r = await storageCmd(['get', 'docs/a/small.txt', out], env);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readFileSync(out), small);

    r = await storageCmd(['rm', 'docs/a/small.txt'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(s3.objectBytes('docs/a/small.txt'), null);
    r = await storageCmd(['rm', 'docs/a/small.txt'], env); // already gone: fine
    assert.equal(r.status, 0, r.stderr);
    r = await storageCmd(['stat', 'docs/a/small.txt'], env);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /CL_EINVAL: S3 stat docs\/a\/small\.txt: no such object/);

    assert.ok(s3.requests.length >= 8);
    for (const q of s3.requests) {
      assert.equal(q.auth, 'header', JSON.stringify(q));
      assert.ok(q.status !== 403, JSON.stringify(q));
    }
  });

  test('a file larger than one part goes up in a multipart upload', async () => {
    s3.requests.length = 0;
    let r = await storageCmd(['put', 'videos/big.bin', path.join(dir, 'big.bin'), 'video/mp4'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).sha256, sha256(big));
    const seen = s3.requests.map((q) => `${q.method} ${q.query.replace(/uploadId=[^&]+/, 'uploadId=U')} ${q.status}`);
    assert.deepEqual(seen, [
      'POST uploads= 200',
      'PUT partNumber=1&uploadId=U 200',
      'PUT partNumber=2&uploadId=U 200',
      'PUT partNumber=3&uploadId=U 200',
      'POST uploadId=U 200',
    ]);
    assert.equal(sha256(s3.objectBytes('videos/big.bin')), sha256(big));
    // a range across the first part boundary
    const at = 5 * 1024 * 1024 - 10;
    r = await storageCmd(['read', 'videos/big.bin', String(at), '20'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout, big.subarray(at, at + 20));
    const out = path.join(dir, 'big.out');
    r = await storageCmd(['get', 'videos/big.bin', out], env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(readFileSync(out)), sha256(big));
  });

  test('presigned GET URLs: work without credentials, carry the download name, refuse tampering', async () => {
    let r = await storageCmd(['put', 'share/clip.txt', path.join(dir, 'small.txt')], env);
    assert.equal(r.status, 0, r.stderr);
    r = await storageCmd(['url', 'share/clip.txt', '120', 'promo.txt'], env);
    assert.equal(r.status, 0, r.stderr);
    const url = r.stdout.toString().trim();
    assert.match(url, new RegExp(`^${s3.endpoint}/${s3.bucket}/share/clip\\.txt\\?X-Amz-Algorithm=AWS4-HMAC-SHA256&`));
    assert.match(url, /X-Amz-Expires=120&/);
    assert.ok(!url.includes(s3.secretKey) && !url.includes(encodeURIComponent(s3.secretKey)));
    let res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="promo.txt"');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), small);
    res = await fetch(url, { headers: { range: 'bytes=0-4' } });
    assert.equal(res.status, 206);
    assert.equal(await res.text(), 'hello');
    // one changed character of the signature, or of the lifetime: refused by the store
    const bad = url.replace(/X-Amz-Signature=(.)/, (m, c) => `X-Amz-Signature=${c === 'a' ? 'b' : 'a'}`);
    res = await fetch(bad);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /SignatureDoesNotMatch/);
    res = await fetch(url.replace('X-Amz-Expires=120', 'X-Amz-Expires=99999'));
    assert.equal(res.status, 403);
  });

  test('STORAGE_S3_PREFIX puts every key under a folder of the bucket', async () => {
    const penv = { ...env, STORAGE_S3_PREFIX: 'cliploop/prod/' };
    let r = await storageCmd(['put', 'a/b.txt', path.join(dir, 'small.txt')], penv);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(s3.objectBytes('cliploop/prod/a/b.txt'), small);
    assert.equal(s3.objectBytes('a/b.txt'), null);
    r = await storageCmd(['url', 'a/b.txt', '60'], penv);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.toString().startsWith(`${s3.endpoint}/${s3.bucket}/cliploop/prod/a/b.txt?`));
    assert.deepEqual(Buffer.from(await (await fetch(r.stdout.toString().trim())).arrayBuffer()), small);
    r = await storageCmd(['rm', 'a/b.txt'], penv);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(s3.objectBytes('cliploop/prod/a/b.txt'), null);
  });

  test('wrong credentials: a clear CL_EAUTH naming the settings, never the secret', async () => {
    const wrongSecret = 'definitely-not-the-secret-42';
    let r = await storageCmd(['put', 'x/y.txt', path.join(dir, 'small.txt')], { ...env, STORAGE_S3_SECRET_KEY: wrongSecret });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /CL_EAUTH: .*S3 refused the credentials .*SignatureDoesNotMatch.*STORAGE_S3_SECRET_KEY/);
    assert.ok(!r.stderr.includes(wrongSecret), 'the secret is never logged');
    assert.equal(s3.objectBytes('x/y.txt'), null);
    r = await storageCmd(['stat', 'share/clip.txt'], { ...env, STORAGE_S3_ACCESS_KEY: 'NOSUCHKEY' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /CL_EAUTH: .*S3 refused the credentials/);
    r = await storageCmd(['read', 'share/clip.txt', '0', '5'], { ...env, STORAGE_S3_ACCESS_KEY: 'NOSUCHKEY' });
    assert.match(r.stderr, /InvalidAccessKeyId/);
    // a presigned URL made with the wrong secret is refused by the store
    r = await storageCmd(['url', 'share/clip.txt', '60'], { ...env, STORAGE_S3_SECRET_KEY: wrongSecret });
    assert.equal(r.status, 0, r.stderr);
    const res = await fetch(r.stdout.toString().trim());
    assert.equal(res.status, 403);
  });

  test('an endpoint that is down or hangs: a deadline and a clear error', async () => {
    const port = await freePort(); // nothing listens there
    let r = await storageCmd(['stat', 'share/clip.txt'], { ...env, STORAGE_S3_ENDPOINT: `http://127.0.0.1:${port}` });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`CL_EUPSTREAM: S3 stat share/clip\\.txt: cannot reach http://127\\.0\\.0\\.1:${port}`));

    s3.mode = 'hang';
    try {
      r = await storageCmd(['put', 'hang/small.txt', path.join(dir, 'small.txt')], { ...env, STORAGE_S3_TIMEOUT_MS: '700' });
      assert.equal(r.signal, null, 'the command ended by itself');
      assert.equal(r.status, 1);
      assert.match(r.stderr, /CL_ETIMEOUT: .*no answer from http:\/\/127\.0\.0\.1:\d+ within 700 ms \(STORAGE_S3_TIMEOUT_MS\)/);
    } finally {
      s3.mode = 'normal';
    }
    s3.mode = 'error500';
    try {
      r = await storageCmd(['read', 'share/clip.txt', '0', '5'], env);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /CL_EUPSTREAM: S3 read share\/clip\.txt failed at .*InternalError/);
    } finally {
      s3.mode = 'normal';
    }
  });

  test('configuration: a backend that is missing or not configured is refused, never replaced', async () => {
    let r = await storageCmd(['check'], { STORAGE: 's3' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /STORAGE=s3: the backend is not configured; set STORAGE_S3_ENDPOINT, STORAGE_S3_BUCKET, STORAGE_S3_ACCESS_KEY, STORAGE_S3_SECRET_KEY/);
    r = await storageCmd(['check'], { ...env, STORAGE_S3_ENDPOINT: 'ftp://example', STORAGE_S3_PART_SIZE: '1000' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /STORAGE_S3_PART_SIZE must be a whole number from 5242880/);
    assert.match(r.stderr, /STORAGE_S3_ENDPOINT must be an http\(s\) URL/);
    r = await storageCmd(['check'], { STORAGE: 'nfs' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /STORAGE=nfs: no loaded plugin provides this storage backend/);
    r = await storageCmd(['put', '../etc/passwd', path.join(dir, 'small.txt')], env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /invalid key/);

    // serve refuses to start with an unconfigured backend (no silent local fallback)
    const db = createDatabase('storagecfg');
    try {
      await assert.rejects(
        startServer({ dbUrl: db.url, env: { STORAGE: 's3', CLIPLOOP_STORAGE_DIR: dir, MOCK_MODE: 'true' } }),
        /STORAGE=s3: the backend is not configured; set STORAGE_S3_ENDPOINT/,
      );
    } finally {
      db.drop();
    }
  });
});

/** A project of the signed-in client c; returns its id. */
async function bakeryProject(c) {
  const p = await c.post('/api/projects', {
    name: 'Bola Bakes', project_type: 'business', business_name: 'Bola Bakes', category: 'Bakery',
    city: 'Ibadan', target_audience: 'Parents planning birthdays', primary_offer: 'Custom birthday cakes',
    preferred_channels: ['instagram'], language_style: 'mixed',
  });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  return p.body.project?.id ?? p.body.id;
}

/*
 * The create flow with one backend: generate + render (worker), the asset
 * rows, the download (streamed or redirected), a Range read, the export
 * bundle, another user's 404, and delete. Returns what it saw for the caller
 * to compare across backends.
 */
async function createFlow({ backend, s3 }) {
  const storage = mkdtempSync(path.join(tmpdir(), `cliploop-flow-${backend}-`));
  const db = createDatabase(`storage_${backend}`);
  const env = { MOCK_MODE: 'true', CLIPLOOP_WORKERS: '1', CLIPLOOP_STORAGE_DIR: storage, CLIPLOOP_JOB_POLL_MS: '100' };
  if (s3) Object.assign(env, s3.env);
  else env.STORAGE = 'local';
  const srv = await startServer({ dbUrl: db.url, env });
  try {
    const c = apiClient(srv.url);
    assert.equal((await c.demoLogin()).status, 200);
    const projectId = await bakeryProject(c);
    const brief = (await c.post('/api/create/brief', { project_id: projectId, prompt: 'Instagram promo for birthday cakes, 10% off this week' })).body.brief;
    const g = await c.post('/api/create/generate', { project_id: projectId, brief, request_id: `req-storage-${backend}` });
    assert.ok([200, 201].includes(g.status), JSON.stringify(g.body));
    const id = g.body.content_item_id;
    let item;
    for (const end = Date.now() + 180000; ;) {
      item = (await c.get(`/api/content-items/${id}`)).body;
      if (item.status === 'rendered' || item.status === 'render_failed') break;
      if (Date.now() > end) throw new Error(`not rendered: ${JSON.stringify(item)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(item.status, 'rendered', item.render_error);

    // the asset rows: key, backend, size and SHA-256
    const rows = psql(db.url, `SELECT id, kind, path, storage, bytes, sha256 FROM content_assets WHERE content_item_id = ${id} ORDER BY kind`);
    assert.deepEqual(rows.map((x) => x[1]), ['thumbnail', 'thumbnail_small', 'video']); // the small one for cards too
    const assets = {};
    for (const [aid, kind, key, st, bytes, sha] of rows) {
      assert.equal(st, backend);
      assert.match(key, new RegExp(`^generated/content-items/${id}/\\d{8}T\\d{6}Z-r1/(rendered\\.mp4|thumbnail\\.jpg|thumbnail-360\\.jpg)$`));
      assert.match(sha, /^[0-9a-f]{64}$/);
      assets[kind] = { id: Number(aid), key, bytes: Number(bytes), sha };
      const api = item.assets.find((a) => a.id === Number(aid));
      assert.equal(api.storage, backend);
      assert.equal(api.sha256, sha);
    }
    // where the bytes are: the bucket for s3 (nothing under the storage dir
    // but empty temp folders), the storage dir for local
    for (const a of Object.values(assets)) {
      const stored = s3 ? s3.objectBytes(a.key) : readFileSync(path.join(storage, a.key));
      assert.ok(stored, `${a.key} stored`);
      assert.equal(stored.length, a.bytes);
      assert.equal(sha256(stored), a.sha);
    }
    assert.equal(existsSync(path.join(storage, 'generated')), !s3);
    assert.deepEqual(readdirSync(path.join(storage, 'tmp', 'renders')), [], 'the render temp folder is cleaned up');

    // the download: the same URL whichever backend (local streams, s3 redirects to a presigned URL)
    const v = assets.video;
    let r = await fetch(`${srv.url}/api/assets/${v.id}?download=1`, { headers: { cookie: c.cookie }, redirect: 'manual' });
    if (s3) {
      assert.equal(r.status, 302);
      const loc = r.headers.get('location');
      assert.ok(loc.startsWith(`${s3.endpoint}/${s3.bucket}/${v.key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&`), loc);
      assert.match(loc, /X-Amz-Expires=900&/);
    } else {
      assert.equal(r.status, 200);
    }
    r = await fetch(`${srv.url}/api/assets/${v.id}?download=1`, { headers: { cookie: c.cookie } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-disposition'), `attachment; filename="cliploop-${id}-video.mp4"`);
    assert.equal(r.headers.get('content-type'), 'video/mp4');
    const video = Buffer.from(await r.arrayBuffer());
    assert.equal(sha256(video), v.sha);
    r = await fetch(`${srv.url}/api/assets/${v.id}`, { headers: { cookie: c.cookie, range: 'bytes=100-199' } });
    assert.equal(r.status, 206);
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), video.subarray(100, 200));
    r = await fetch(`${srv.url}/api/assets/${assets.thumbnail.id}`, { headers: { cookie: c.cookie } });
    assert.equal(r.status, 200);
    assert.equal(sha256(Buffer.from(await r.arrayBuffer())), assets.thumbnail.sha);

    // another user sees 404, no redirect
    const other = apiClient(srv.url);
    assert.equal((await other.signup(`other-${backend}@example.com`)).status, 201);
    assert.equal((await other.post('/api/dev/approve-user', { email: `other-${backend}@example.com`, plan: 'beta' })).status, 200);
    r = await fetch(`${srv.url}/api/assets/${v.id}`, { headers: { cookie: other.cookie }, redirect: 'manual' });
    assert.equal(r.status, 404);
    assert.equal(r.headers.get('location'), null);

    // the export bundle holds the stored bytes
    r = await fetch(`${srv.url}/api/content-items/${id}/export`, { headers: { cookie: c.cookie } });
    assert.equal(r.status, 200, await r.clone().text());
    const zdir = mkdtempSync(path.join(tmpdir(), 'cliploop-zip-'));
    writeFileSync(path.join(zdir, 'b.zip'), Buffer.from(await r.arrayBuffer()));
    // maxBuffer: spawnSync keeps only 1 MiB of stdout by default, less than a video.
    const zvideo = spawnSync('unzip', ['-p', 'b.zip', 'assets/video.mp4'], { cwd: zdir, maxBuffer: 1 << 28 }).stdout;
    const zthumb = spawnSync('unzip', ['-p', 'b.zip', 'assets/thumbnail.jpg'], { cwd: zdir, maxBuffer: 1 << 28 }).stdout;
    rmSync(zdir, { recursive: true, force: true });
    assert.equal(sha256(zvideo), v.sha);
    assert.equal(sha256(zthumb), assets.thumbnail.sha);
    const left = (d) => (existsSync(path.join(storage, 'tmp', d)) ? readdirSync(path.join(storage, 'tmp', d)) : []);
    assert.deepEqual([...left('storage'), ...left('exports')], [], 'no download or bundle left behind');

    // delete removes the stored files through their backend
    r = await c.request('DELETE', `/api/content-items/${id}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    for (const a of Object.values(assets)) {
      if (s3) assert.equal(s3.objectBytes(a.key), null, `${a.key} removed from the bucket`);
      else assert.equal(existsSync(path.join(storage, a.key)), false);
    }
    assert.equal(existsSync(path.join(storage, 'generated', 'content-items', String(id))), false);
    return { videoBytes: v.bytes };
  } finally {
    await srv.stop();
    db.drop();
    rmSync(storage, { recursive: true, force: true });
  }
}

describe('the create flow stores, serves and exports through the configured backend', () => {
  let s3;
  before(async () => { s3 = await startFakeS3(); });
  after(async () => { if (s3) await s3.close(); });

  test('STORAGE=local (the default layout under CLIPLOOP_STORAGE_DIR)', async () => {
    await createFlow({ backend: 'local' });
  });

  test('STORAGE=s3 (objects in the bucket, downloads by presigned redirect)', async () => {
    const before_ = s3.requests.length;
    await createFlow({ backend: 's3', s3 });
    const seen = s3.requests.slice(before_);
    assert.ok(seen.some((q) => q.method === 'PUT' && q.auth === 'header' && q.status === 200), 'uploaded with signed requests');
    assert.ok(seen.some((q) => q.method === 'GET' && q.auth === 'query' && q.status === 200), 'downloaded by presigned URL');
    assert.ok(seen.some((q) => q.method === 'DELETE' && q.status === 204), 'removed on delete');
    assert.ok(seen.every((q) => q.status !== 403), JSON.stringify(seen.filter((q) => q.status === 403)));
  });
});

test('STORAGE=s3 and the bucket fails during a render: a calm error, the credit refunded, nothing kept', async () => {
  const s3 = await startFakeS3();
  const storage = mkdtempSync(path.join(tmpdir(), 'cliploop-flow-s3fail-'));
  const db = createDatabase('storage_s3fail');
  const srv = await startServer({
    dbUrl: db.url,
    env: { ...s3.env, MOCK_MODE: 'true', CLIPLOOP_WORKERS: '1', CLIPLOOP_STORAGE_DIR: storage, CLIPLOOP_JOB_POLL_MS: '100',
      CLIPLOOP_JOB_BACKOFF_MS: '100', CLIPLOOP_JOB_MAX_ATTEMPTS: '2' },
  });
  try {
    const c = apiClient(srv.url);
    assert.equal((await c.demoLogin()).status, 200);
    const userId = psql(db.url, "SELECT id FROM users WHERE email = 'demo@cliploop.test'")[0][0];
    const projectId = await bakeryProject(c);
    const item = await c.post('/api/content-items', { project_id: projectId, channel: 'instagram', title: 'Cakes',
      draft: DRAFT });
    assert.equal(item.status, 201, JSON.stringify(item.body));
    const id = item.body.id;
    const balance = () => Number(psql(db.url, `SELECT render_balance FROM credit_accounts WHERE user_id = ${userId}`)[0][0]);
    s3.mode = 'error500';
    const r = await c.post(`/api/content-items/${id}/render`);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const charged = balance();
    let it;
    for (const end = Date.now() + 180000; ;) {
      it = (await c.get(`/api/content-items/${id}`)).body;
      if (it.status === 'render_failed' || it.status === 'rendered') break;
      if (Date.now() > end) throw new Error(`render did not end: ${JSON.stringify(it)}`);
      await new Promise((res) => setTimeout(res, 250));
    }
    assert.equal(it.status, 'render_failed');
    assert.match(it.render_error, /could not be stored .*nothing was kept/);
    assert.doesNotMatch(it.render_error, /127\.0\.0\.1|http|\//, 'no endpoint or path shown to the user');
    assert.equal(balance(), charged + 1, 'the render credit is refunded');
    assert.equal(psql(db.url, `SELECT count(*) FROM content_assets WHERE content_item_id = ${id}`)[0][0], '0');
    assert.equal(psql(db.url, "SELECT attempts FROM jobs WHERE kind = 'render.content_item'")[0][0], '2', 'retried once');
    assert.ok(s3.requests.filter((q) => q.method === 'PUT' || q.method === 'POST').length >= 2);
    assert.deepEqual(s3.objectKeys(), []);
    assert.deepEqual(readdirSync(path.join(storage, 'tmp', 'renders')), [], 'no render scratch left behind');
    assert.match(srv.proc.log, /the video could not be stored: storing generated\/content-items\/\d+\/.*in s3 storage failed: S3 put .*InternalError/);
  } finally {
    s3.mode = 'normal';
    await srv.stop();
    db.drop();
    await s3.close();
    rmSync(storage, { recursive: true, force: true });
  }
});

test('cliploop storage migrate moves local assets into the bucket, checking each SHA-256', async () => {
  const s3 = await startFakeS3();
  const storage = mkdtempSync(path.join(tmpdir(), 'cliploop-migrate-'));
  const db = createDatabase('storage_migrate');
  // the server already runs with STORAGE=s3: rows written before still name local
  const srv = await startServer({ dbUrl: db.url, env: { ...s3.env, MOCK_MODE: 'true', CLIPLOOP_STORAGE_DIR: storage } });
  try {
    const c = apiClient(srv.url);
    assert.equal((await c.demoLogin()).status, 200);
    const item = await c.post('/api/content-items', { project_id: await bakeryProject(c), channel: 'instagram', title: 'Cakes', draft: DRAFT });
    assert.equal(item.status, 201, JSON.stringify(item.body));
    // three files stored locally before: one without a recorded SHA-256, one
    // with the right one, one whose bytes no longer match its row
    const files = [1, 2, 3].map((seq) => {
      const key = `generated/content-items/${item.body.id}/20260101T00000${seq}Z-r${seq}/rendered.mp4`;
      const bytes = crypto.randomBytes(1000 + seq);
      mkdirSync(path.dirname(path.join(storage, key)), { recursive: true });
      writeFileSync(path.join(storage, key), bytes);
      const sha = seq === 1 ? 'NULL' : `'${seq === 2 ? sha256(bytes) : sha256(Buffer.from('something else'))}'`;
      const [[id]] = psql(db.url, `INSERT INTO content_assets (content_item_id, kind, path, mime, bytes, renderer, render_seq, sha256)
        VALUES (${item.body.id}, 'video', '${key}', 'video/mp4', ${bytes.length}, 'ffmpeg', ${seq}, ${sha}) RETURNING id`);
      return { id: Number(id), key, bytes };
    });
    const r = await storageCmd(['migrate'], { ...s3.env, DATABASE_URL: db.url, CLIPLOOP_STORAGE_DIR: storage });
    assert.equal(r.status, 1, r.stderr); // one asset could not move
    assert.deepEqual(JSON.parse(r.stdout), { from: 'local', to: 's3', moved: 2, failed: 1 });
    assert.match(r.stderr, new RegExp(`asset ${files[2].id}: the file's SHA-256 [0-9a-f]{64} differs from the recorded`));
    const rows = psql(db.url, `SELECT id, storage, sha256 FROM content_assets WHERE content_item_id = ${item.body.id} ORDER BY render_seq`);
    assert.deepEqual(rows.map(([, st]) => st), ['s3', 's3', 'local']);
    assert.equal(rows[0][2], sha256(files[0].bytes), 'the missing SHA-256 is recorded on the way');
    for (const f of files.slice(0, 2)) {
      assert.deepEqual(s3.objectBytes(f.key), f.bytes);
      assert.ok(existsSync(path.join(storage, f.key)), 'the old file stays until the operator removes it');
      // served from the bucket now: a redirect to a presigned URL with the same bytes
      const res = await fetch(`${srv.url}/api/assets/${f.id}`, { headers: { cookie: c.cookie }, redirect: 'manual' });
      assert.equal(res.status, 302);
      const got = await fetch(res.headers.get('location'));
      assert.deepEqual(Buffer.from(await got.arrayBuffer()), f.bytes);
    }
    // the third keeps being served from the local file
    const res = await fetch(`${srv.url}/api/assets/${files[2].id}`, { headers: { cookie: c.cookie }, redirect: 'manual' });
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), files[2].bytes);
  } finally {
    await srv.stop();
    db.drop();
    await s3.close();
    rmSync(storage, { recursive: true, force: true });
  }
});
