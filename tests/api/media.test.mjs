// The media library and the brand kit over HTTP (docs/media.md): uploads
// checked by decoding (a text file named .jpg, a WAV named .jpg, a 20 kB PNG
// that claims 50000x50000, a body over 20 MB), EXIF orientation applied to
// the normalized copy, audio normalized to 48 kHz stereo, fonts validated,
// the plan's quota, owner checks (foreign ids answer 404), keep / discard /
// delete, website images collected at ingestion through the address guard
// from a fake site (tests/fakes/http_fake.mjs), and the brand kit's
// validation and colour proposals.
//
// Fixtures are made at test time with the ffmpeg CLI and a few bytes of
// JavaScript (no binaries are checked in).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { BIN, createDatabase, startServer, serveFresh, psql, betaUser, until } from './lib/harness.mjs';
import { startFakeS3 } from '../fakes/s3.mjs';
import { startHttpFake } from '../fakes/http_fake.mjs';

let db, srv, fake, tmp, owner, other, project, otherProject;

function ffmpeg(...args) {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${r.stderr}`);
}

/** A fixture file made by ffmpeg from lavfi sources; returns its bytes. */
function make(name, ...args) {
  const out = path.join(tmp, name);
  ffmpeg(...args, out);
  return fs.readFileSync(out);
}

/** Raw RGB24 pixels of an image (decoded by the ffmpeg CLI) with its size. */
function pixels(buf, ext) {
  const f = path.join(tmp, `px-${Math.random().toString(36).slice(2)}.${ext}`);
  fs.writeFileSync(f, buf);
  const probe = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height',
    '-of', 'csv=p=0', f], { encoding: 'utf8' });
  const [w, h] = probe.stdout.trim().split(',').map(Number);
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', f, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 28 });
  return { w, h, at: (x, y) => [...r.stdout.subarray((y * w + x) * 3, (y * w + x) * 3 + 3)] };
}

/** A JPEG with an EXIF APP1 segment saying orientation o, spliced after SOI. */
function withExifOrientation(jpeg, o) {
  const tiff = Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, o, 0, 0, 0, 0, 0, 0]);
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'binary'), tiff]);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(payload.length + 2);
  return Buffer.concat([jpeg.subarray(0, 2), Buffer.from([0xff, 0xe1]), len, payload, jpeg.subarray(2)]);
}

/** A small PNG whose IHDR claims w x h (a decompression bomb: the IDAT is zeros that deflate well). */
function bombPng(w, h) {
  const crcTable = [];
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crcTable[n] = c >>> 0;
  }
  const crc = (b) => { let c = 0xffffffff; for (const x of b) c = crcTable[(c ^ x) & 255] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  const idat = zlib.deflateSync(Buffer.alloc(20 * 1024 * 1024), { level: 9 });
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

/** `cliploop media …` (what the render path sees), without blocking this process (the fake S3 lives here). */
function mediaCmd(args, env) {
  return new Promise((resolve) => {
    const child = spawn(BIN, ['media', ...args], { env: { ...process.env, CLIPLOOP_ENV_FILE: '/dev/null', CLIPLOOP_LOG_LEVEL: 'warn', ...env } });
    const out = [], errs = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => errs.push(d));
    child.on('exit', (status) => resolve({ status, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(errs).toString() }));
  });
}

async function upload(client, pid, buf, filename, type = 'application/octet-stream') {
  const r = await fetch(`${srv.url}/api/projects/${pid}/media`, {
    method: 'POST', body: buf,
    headers: { cookie: client.cookie, 'x-csrf-token': client.csrf, 'x-filename': encodeURIComponent(filename), 'content-type': type },
  });
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, body, text };
}

async function download(client, url) {
  const r = await fetch(srv.url + url, { headers: { cookie: client.cookie } });
  return { status: r.status, type: r.headers.get('content-type'), buf: Buffer.from(await r.arrayBuffer()) };
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'media-test-'));
  fake = await startHttpFake();
  ({ db, srv } = await serveFresh('media', {
    CLIPLOOP_SCRYPT_LOG_N: '10', CLIPLOOP_WORKERS: '1', CLIPLOOP_HTTP_ALLOW_LOOPBACK: 'true',
    CLIPLOOP_STORAGE_DIR: path.join(tmp, 'storage'),
  }));
  owner = await betaUser(srv.url, 'media-owner@example.com');
  other = await betaUser(srv.url, 'media-other@example.com');
  project = (await owner.post('/api/projects', { name: 'Bakery', project_type: 'business' })).body;
  otherProject = (await other.post('/api/projects', { name: 'Other', project_type: 'business' })).body;
  assert.ok(project.id && otherProject.id);
});

after(async () => {
  await srv?.stop();
  await fake?.close();
  db?.drop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('an image upload is decoded, stored as original + normalized JPEG, and listed as kept', async () => {
  const jpg = make('photo.jpg', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720', '-frames:v', '1');
  const r = await upload(owner, project.id, jpg, 'Shop front.jpg', 'image/jpeg');
  assert.equal(r.status, 201, r.text);
  const m = r.body.media;
  assert.equal(m.kind, 'image');
  assert.equal(m.origin, 'upload');
  assert.equal(m.status, 'kept');
  assert.equal(m.mime, 'image/jpeg');
  assert.equal(m.filename, 'Shop front.jpg');
  assert.equal(m.bytes, jpg.length);
  assert.deepEqual([m.width, m.height], [1280, 720]);
  const orig = await download(owner, m.original_url);
  assert.equal(orig.status, 200);
  assert.ok(orig.buf.equals(jpg), 'the original is kept byte for byte');
  const norm = await download(owner, m.url);
  assert.equal(norm.status, 200);
  assert.equal(norm.type, 'image/jpeg');
  assert.deepEqual([pixels(norm.buf, 'jpg').w, pixels(norm.buf, 'jpg').h], [1280, 720]);

  const again = await upload(owner, project.id, jpg, 'copy.jpg');
  assert.equal(again.status, 200, 'the same bytes again are the same asset');
  assert.equal(again.body.duplicate, true);
  assert.equal(again.body.media.id, m.id);

  const list = await owner.get(`/api/projects/${project.id}/media`);
  assert.equal(list.status, 200);
  assert.ok(list.body.media.some((x) => x.id === m.id));
  assert.equal(list.body.quota.plan, 'Beta');
  assert.ok(list.body.quota.used_bytes >= jpg.length);
});

test('a large image is scaled to 2160 px on the long side; an image with alpha stays PNG', async () => {
  const big = make('big.png', '-f', 'lavfi', '-i', 'color=c=green:s=4000x1000', '-frames:v', '1');
  const r = await upload(owner, project.id, big, 'banner.png');
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.media.mime, 'image/png');
  assert.equal(r.body.media.normalized_mime, 'image/jpeg', 'an opaque PNG becomes JPEG');
  assert.deepEqual([r.body.media.width, r.body.media.height], [2160, 540]);

  const alpha = make('alpha.png', '-f', 'lavfi', '-i', 'color=c=red@0.5:s=300x200,format=rgba', '-frames:v', '1');
  const a = await upload(owner, project.id, alpha, 'logo.png');
  assert.equal(a.status, 201, a.text);
  assert.equal(a.body.media.normalized_mime, 'image/png');
  const norm = await download(owner, a.body.media.url);
  assert.equal(norm.type, 'image/png');
});

test('EXIF orientation is applied to the normalized copy', async () => {
  // left half red, right half blue; orientation 6 means "turn 90° clockwise to view"
  const plain = make('rb.jpg', '-f', 'lavfi', '-i', 'color=c=red:s=400x300', '-f', 'lavfi', '-i', 'color=c=blue:s=400x300',
    '-filter_complex', 'hstack', '-frames:v', '1');
  const r = await upload(owner, project.id, withExifOrientation(plain, 6), 'phone.jpg', 'image/jpeg');
  assert.equal(r.status, 201, r.text);
  assert.deepEqual([r.body.media.width, r.body.media.height], [300, 800], 'width and height swapped');
  const px = pixels((await download(owner, r.body.media.url)).buf, 'jpg');
  assert.deepEqual([px.w, px.h], [300, 800]);
  const top = px.at(150, 100), bottom = px.at(150, 700);
  assert.ok(top[0] > 200 && top[2] < 60, `top is red (the picture's left), got ${top}`);
  assert.ok(bottom[2] > 200 && bottom[0] < 60, `bottom is blue, got ${bottom}`);
});

test('the type comes from decoding, never from the name or Content-Type', async () => {
  const text = await upload(owner, project.id, Buffer.from('<html><body>not a picture</body></html>'), 'cat.jpg', 'image/jpeg');
  assert.equal(text.status, 415, text.text);
  assert.equal(text.body.error.code, 'unsupported_media_type');

  const wav = make('tone.wav', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1.5', '-ar', '22050', '-ac', '1');
  const disguised = await upload(owner, project.id, wav, 'holiday.jpg', 'image/jpeg');
  assert.equal(disguised.status, 201, disguised.text);
  assert.equal(disguised.body.media.kind, 'audio', 'a WAV named .jpg is audio');
  assert.equal(disguised.body.media.mime, 'audio/wav');

  const truncated = make('t.png', '-f', 'lavfi', '-i', 'testsrc2=size=640x480', '-frames:v', '1');
  const broken = await upload(owner, project.id, truncated.subarray(0, 200), 'broken.png');
  assert.equal(broken.status, 422, broken.text);
  assert.equal(broken.body.error.code, 'image_unreadable');
});

test('a decompression bomb (a 20 kB PNG claiming 50000x50000) is refused before decoding', async () => {
  const bomb = bombPng(50000, 50000);
  assert.ok(bomb.length < 64 * 1024, `the bomb is small (${bomb.length} bytes)`);
  const r = await upload(owner, project.id, bomb, 'bomb.png', 'image/png');
  assert.equal(r.status, 422, r.text);
  assert.equal(r.body.error.code, 'image_too_large');
  assert.match(r.body.error.message, /50000x50000/);
  const n = psql(db.url, `SELECT count(*) FROM media_assets WHERE filename = 'bomb.png'`)[0][0];
  assert.equal(n, '0');
});

test('a body over 20 MB is refused with 413 before it is read', async () => {
  // Only the headers are sent: the answer comes from the Content-Length alone.
  const answer = await new Promise((resolve, reject) => {
    const sock = net.connect(srv.port, '127.0.0.1', () => {
      sock.write(`POST /api/projects/${project.id}/media HTTP/1.1\r\nHost: x\r\nCookie: ${owner.cookie}\r\n` +
        `X-CSRF-Token: ${owner.csrf}\r\nX-Filename: huge.jpg\r\nContent-Length: ${20 * 1024 * 1024 + 1}\r\n\r\n`);
    });
    let got = '';
    sock.on('data', (d) => { got += d; if (got.includes('\r\n\r\n')) { sock.destroy(); resolve(got); } });
    sock.on('error', reject);
    setTimeout(() => { sock.destroy(); reject(new Error(`no answer: ${got}`)); }, 5000);
  });
  assert.match(answer, /^HTTP\/1\.1 413 /);
  // every other route keeps the 1 MiB limit
  const big = await fetch(`${srv.url}/api/projects`, {
    method: 'POST', body: 'x'.repeat(2 * 1024 * 1024),
    headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrf, 'content-type': 'application/json' },
  });
  assert.equal(big.status, 413);
  assert.equal((await big.json()).error.code, 'payload_too_large');
});

test('audio is normalized to 48 kHz stereo; fonts are validated with FreeType', async () => {
  const m4a = make('jingle.m4a', '-f', 'lavfi', '-i', 'sine=frequency=660:duration=2', '-ar', '44100', '-ac', '1', '-c:a', 'aac');
  const r = await upload(owner, project.id, m4a, 'jingle.m4a');
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.media.kind, 'audio');
  assert.equal(r.body.media.mime, 'audio/mp4');
  assert.ok(Math.abs(r.body.media.duration_ms - 2000) < 120, `duration ${r.body.media.duration_ms}`);
  const norm = await download(owner, r.body.media.url);
  // lossless FLAC, smaller than the same samples as 16-bit PCM (2 s x 48 kHz x 2 channels x 2 bytes)
  assert.equal(norm.type, 'audio/flac');
  assert.ok(norm.buf.length < 2 * 48000 * 4 * 0.8, `${norm.buf.length} bytes`);
  const f = path.join(tmp, 'norm.flac');
  fs.writeFileSync(f, norm.buf);
  const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,sample_rate,channels,sample_fmt:format=duration',
    '-of', 'csv=p=0', f], { encoding: 'utf8' });
  const [stream, fmt] = probe.stdout.trim().split('\n');
  assert.equal(stream, 'flac,s16,48000,2');
  assert.ok(Math.abs(Number(fmt) - 2) < 0.06, `duration ${fmt}`);

  for (const [name, codec, mime] of [['tune.mp3', 'libmp3lame', 'audio/mpeg'], ['tune.ogg', 'libvorbis', 'audio/ogg']]) {
    const buf = make(name, '-f', 'lavfi', '-i', `sine=frequency=${name.length * 50}:duration=1`, '-c:a', codec);
    const a = await upload(owner, project.id, buf, name);
    assert.equal(a.status, 201, a.text);
    assert.equal(a.body.media.kind, 'audio');
    assert.equal(a.body.media.mime, mime);
    assert.ok(Math.abs(a.body.media.duration_ms - 1000) < 120, `${name}: ${a.body.media.duration_ms} ms`);
  }
  const video = make('clip.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:duration=1', '-f', 'lavfi', '-i', 'sine=duration=1', '-shortest');
  const v = await upload(owner, project.id, video, 'clip.m4a');
  assert.equal(v.status, 415, 'a video is not audio, whatever its name');

  const ttf = fs.readFileSync('/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf');
  const font = await upload(owner, project.id, ttf, 'MySerif.ttf');
  assert.equal(font.status, 201, font.text);
  assert.equal(font.body.media.kind, 'font');
  assert.equal(font.body.media.mime, 'font/ttf');

  const fakeFont = Buffer.concat([Buffer.from([0, 1, 0, 0]), Buffer.alloc(4000, 0x41)]);
  const bad = await upload(owner, project.id, fakeFont, 'broken.ttf');
  assert.equal(bad.status, 422, bad.text);
  assert.equal(bad.body.error.code, 'font_unreadable');
});

test('owner checks: another user\'s project and media answer 404', async () => {
  const png = make('small.png', '-f', 'lavfi', '-i', 'color=c=yellow:s=64x64', '-frames:v', '1');
  const mine = await upload(owner, project.id, png, 'small.png');
  assert.equal(mine.status, 201, mine.text);
  const id = mine.body.media.id;
  assert.equal((await upload(other, project.id, png, 'x.png')).status, 404);
  assert.equal((await other.get(`/api/projects/${project.id}/media`)).status, 404);
  assert.equal((await other.post(`/api/projects/${project.id}/media/${id}/keep`)).status, 404);
  assert.equal((await other.post(`/api/projects/${otherProject.id}/media/${id}/discard`)).status, 404,
    'an asset of another project is not found under one\'s own project');
  assert.equal((await other.request('DELETE', `/api/projects/${project.id}/media/${id}`)).status, 404);
  assert.equal((await download(other, `/api/media/${id}/file`)).status, 404);
  assert.equal((await fetch(`${srv.url}/api/media/${id}/file`)).status, 401, 'signed out');
  assert.equal((await other.get(`/api/projects/${project.id}/brand-kit`)).status, 404);
  assert.equal((await other.request('PUT', `/api/projects/${project.id}/brand-kit`, { colors: [] })).status, 404);
});

test('discard, keep and delete', async () => {
  const png = make('del.png', '-f', 'lavfi', '-i', 'color=c=purple:s=80x60', '-frames:v', '1');
  const m = (await upload(owner, project.id, png, 'del.png')).body.media;
  const d = await owner.post(`/api/projects/${project.id}/media/${m.id}/discard`);
  assert.equal(d.status, 200);
  assert.equal(d.body.media.status, 'discarded');
  const listed = (await owner.get(`/api/projects/${project.id}/media`)).body.media.map((x) => x.id);
  assert.ok(!listed.includes(m.id), 'discarded media is not in the default list');
  const k = await owner.post(`/api/projects/${project.id}/media/${m.id}/keep`);
  assert.equal(k.body.media.status, 'kept');
  const keys = psql(db.url, `SELECT storage_key, normalized_key FROM media_assets WHERE id = ${m.id}`)[0];
  const del = await owner.request('DELETE', `/api/projects/${project.id}/media/${m.id}`);
  assert.equal(del.status, 200);
  assert.equal((await download(owner, m.url)).status, 404);
  for (const key of keys) assert.ok(!fs.existsSync(path.join(tmp, 'storage', key)), `${key} removed`);
  assert.equal((await owner.request('DELETE', `/api/projects/${project.id}/media/${m.id}`)).status, 404);
});

test('the plan quota: an upload that does not fit answers 409 naming the plan and the limit', async () => {
  const u = await betaUser(srv.url, 'media-quota@example.com');
  const p = (await u.post('/api/projects', { name: 'Quota', project_type: 'business' })).body;
  const uid = psql(db.url, `SELECT id FROM users WHERE email = 'media-quota@example.com'`)[0][0];
  // 1 GB of kept media already (Beta keeps up to 1 GB)
  psql(db.url, `INSERT INTO media_assets (project_id, user_id, kind, origin, status, filename, mime, bytes, sha256,
    storage_key, normalized_key, normalized_mime) VALUES (${p.id}, ${uid}, 'image', 'upload', 'kept', 'old.jpg', 'image/jpeg',
    ${1024 * 1024 * 1024 - 1000}, repeat('a', 64), 'media/x.jpg', 'media/x-n.jpg', 'image/jpeg')`);
  const png = make('q.png', '-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1');
  const r = await upload(u, p.id, png, 'q.png');
  assert.equal(r.status, 409, r.text);
  assert.equal(r.body.error.code, 'media_quota_reached');
  assert.match(r.body.error.message, /Beta plan keeps up to 1\.0 GB/);
  assert.equal(psql(db.url, `SELECT count(*) FROM media_assets WHERE project_id = ${p.id}`)[0][0], '1', 'nothing stored');
  psql(db.url, `UPDATE media_assets SET bytes = 10 WHERE project_id = ${p.id}`);
  assert.equal((await upload(u, p.id, png, 'q.png')).status, 201, 'fits once space is freed');
  const plan = await u.get('/api/me/plan');
  assert.equal(plan.status, 200);
  assert.equal(plan.body.limits.media_bytes, 1024 * 1024 * 1024);
  assert.equal(plan.body.limits.media_files, 500);
  // deleting the project removes its media files too
  const keys = psql(db.url, `SELECT storage_key, normalized_key FROM media_assets WHERE project_id = ${p.id} AND filename = 'q.png'`)[0];
  for (const key of keys) assert.ok(fs.existsSync(path.join(tmp, 'storage', key)), `${key} stored`);
  assert.equal((await u.request('DELETE', `/api/projects/${p.id}`)).status, 200);
  for (const key of keys) assert.ok(!fs.existsSync(path.join(tmp, 'storage', key)), `${key} removed with the project`);
});

test('website images: og:image and main-content <img> >= 600 px, fetched through the guard, deduplicated, suggested', async () => {
  const hero = make('hero.jpg', '-f', 'lavfi', '-i', 'testsrc2=size=1200x800', '-frames:v', '1');
  const product = make('product.png', '-f', 'lavfi', '-i', 'color=c=orange:s=700x700', '-frames:v', '1');
  const icon = make('icon.png', '-f', 'lavfi', '-i', 'color=c=gray:s=120x120', '-frames:v', '1');
  fake.files.set('/site/img/hero.jpg', { type: 'image/jpeg', body: hero });
  fake.files.set('/site/img/hero-copy.jpg', { type: 'image/jpeg', body: hero });
  fake.files.set('/site/img/product.png', { type: 'image/png', body: product });
  fake.files.set('/site/img/icon.png', { type: 'image/png', body: icon });
  fake.files.set('/site/img/fake.jpg', { type: 'image/jpeg', body: Buffer.from('not an image at all') });
  fake.files.set('/site/', {
    body: `<!doctype html><html><head><title>Crumbs Bakery</title>
      <meta property="og:image" content="/site/img/hero.jpg">
      <meta name="theme-color" content="#c0392b">
      <style>.btn{background:#2E86DE;color:#fff}.btn:hover{background:#2e86de}.a{color:#333333}</style></head>
      <body><nav><img src="/site/img/nav-logo.png"></nav>
      <main><h1>Fresh bread daily</h1><p>Sourdough, rye and cakes baked every morning in our shop.</p>
      <img src="img/product.png" alt="Cake"><img src="img/icon.png"><img src="img/hero-copy.jpg">
      <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="img/fake.jpg">
      <img src="http://10.0.0.1/private.jpg"></main></body></html>`,
  });
  const web = await betaUser(srv.url, 'media-web@example.com');
  const p = (await web.post('/api/projects', { name: 'Crumbs', project_type: 'business', website_url: fake.url('/site/') })).body;
  const start = await web.post(`/api/projects/${p.id}/ingest`);
  assert.ok([200, 201, 202].includes(start.status), start.text);
  await until('ingestion finished', async () => {
    const r = await web.get(`/api/projects/${p.id}/ingestion`);
    const run = r.body.run || r.body.latest || r.body;
    return run && ['completed', 'failed'].includes(run.status);
  }, 60000);
  // the images are fetched by the same job right after the run's pages are stored
  await until('ingestion job finished', async () => psql(db.url,
    "SELECT count(*) FROM jobs WHERE status IN ('pending', 'running')")[0][0] === '0', 60000);
  const list = await web.get(`/api/projects/${p.id}/media?status=suggested`);
  assert.equal(list.status, 200);
  const names = list.body.media.map((m) => m.filename).sort();
  assert.deepEqual(names, ['hero.jpg', 'product.png'], 'big enough, decoded, each image once');
  for (const m of list.body.media) {
    assert.equal(m.origin, 'website');
    assert.equal(m.status, 'suggested');
  }
  assert.equal(psql(db.url, `SELECT count(*) FROM media_assets WHERE project_id = ${p.id} AND source_url LIKE '%10.0.0.1%'`)[0][0], '0');
  // the rendering list holds kept media only
  assert.equal((await web.get(`/api/projects/${p.id}/media?status=kept`)).body.media.length, 0);
  const hero1 = list.body.media.find((m) => m.filename === 'hero.jpg');
  const kept = await web.post(`/api/projects/${p.id}/media/${hero1.id}/keep`);
  assert.equal(kept.body.media.status, 'kept');
  // the website's colours are offered for the brand kit
  const colors = await web.post(`/api/projects/${p.id}/brand-kit/colors`, { from: 'website' });
  assert.equal(colors.status, 200, colors.text);
  assert.deepEqual(colors.body.colors.slice(0, 2), ['#C0392B', '#2E86DE']);
});

test('brand kit: defaults, validation, fonts, logo and colours from the logo', async () => {
  const fonts = await owner.get('/api/fonts');
  assert.equal(fonts.status, 200);
  const ids = fonts.body.fonts.map((f) => f.id);
  assert.ok(ids.includes('dejavu-sans-bold'));
  const kit0 = await owner.get(`/api/projects/${project.id}/brand-kit`);
  assert.equal(kit0.status, 200);
  assert.deepEqual(kit0.body.brand_kit.colors, []);
  assert.equal(kit0.body.brand_kit.heading_font, 'dejavu-sans-bold');

  const bad = await owner.request('PUT', `/api/projects/${project.id}/brand-kit`, {
    colors: ['#FFF', '#112233', '#445566', '#778899'], heading_font: 'comic-sans', body_font: 'media:999999',
    logo_placement: 'middle', logo_media_id: 999999,
  });
  assert.equal(bad.status, 422, bad.text);
  assert.deepEqual(Object.keys(bad.body.error.fields).sort(), ['body_font', 'colors', 'heading_font', 'logo_media_id', 'logo_placement']);

  // a logo: two colours on white
  const logo = make('logo.png', '-f', 'lavfi', '-i', 'color=c=white:s=300x300', '-f', 'lavfi', '-i', 'color=c=0x1E8449:s=120x120',
    '-f', 'lavfi', '-i', 'color=c=0xF39C12:s=60x60', '-filter_complex', '[0][1]overlay=20:20[a];[a][2]overlay=200:200', '-frames:v', '1');
  const lm = (await upload(owner, project.id, logo, 'logo.png')).body.media;
  const audio = (await owner.get(`/api/projects/${project.id}/media?kind=audio`)).body.media[0];
  const notImage = await owner.request('PUT', `/api/projects/${project.id}/brand-kit`, { logo_media_id: audio.id });
  assert.equal(notImage.status, 422);
  const font = (await owner.get(`/api/projects/${project.id}/media?kind=font`)).body.media[0];
  const put = await owner.request('PUT', `/api/projects/${project.id}/brand-kit`, {
    logo_media_id: lm.id, colors: ['#1e8449', '#F39C12'], heading_font: 'noto-serif-bold', body_font: `media:${font.id}`,
    logo_placement: 'top-left',
  });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual(put.body.brand_kit.colors, ['#1E8449', '#F39C12']);
  assert.equal(put.body.brand_kit.logo.id, lm.id);
  const got = (await owner.get(`/api/projects/${project.id}/brand-kit`)).body.brand_kit;
  assert.equal(got.body_font, `media:${font.id}`);
  assert.equal(got.logo_placement, 'top-left');

  const fromLogo = await owner.post(`/api/projects/${project.id}/brand-kit/colors`, { from: 'logo' });
  assert.equal(fromLogo.status, 200, fromLogo.text);
  const near = (hex, want) => {
    const a = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const b = [1, 3, 5].map((i) => parseInt(want.slice(i, i + 2), 16));
    return a.every((v, i) => Math.abs(v - b[i]) <= 24);
  };
  assert.ok(near(fromLogo.body.colors[0], '#1E8449'), `the logo's main colour first: ${fromLogo.body.colors}`);
  assert.ok(fromLogo.body.colors.some((c) => near(c, '#F39C12')), `${fromLogo.body.colors}`);
  assert.ok(!fromLogo.body.colors.some((c) => near(c, '#FFFFFF')), 'the white around the logo is not a brand colour');

  // deleting the uploaded font puts the default back
  await owner.request('DELETE', `/api/projects/${project.id}/media/${font.id}`);
  assert.equal((await owner.get(`/api/projects/${project.id}/brand-kit`)).body.brand_kit.body_font, 'dejavu-sans');
});

test('the render path: kept media listed, a normalized file materialized into a work directory, the brand kit with font files', async () => {
  const env = srv.env;
  const list = await mediaCmd(['list', String(project.id)], env);
  assert.equal(list.status, 0, list.stderr);
  const items = JSON.parse(list.stdout);
  assert.ok(items.length >= 3);
  assert.ok(items.every((m) => m.status === 'kept' && ['image', 'audio'].includes(m.kind)), 'kept images and audio only');
  const ids = items.map((m) => m.id);
  assert.deepEqual([...ids].sort((a, b) => a - b), ids, 'oldest first');
  const img = items.find((m) => m.kind === 'image');
  const work = fs.mkdtempSync(path.join(tmp, 'work-'));
  const got = await mediaCmd(['get', String(project.id), String(img.id), work], env);
  assert.equal(got.status, 0, got.stderr);
  const file = got.stdout.trim();
  assert.equal(path.dirname(file), work, 'inside the work directory');
  assert.ok(fs.readFileSync(file).equals((await download(owner, img.url)).buf), 'the normalized copy');
  // a suggestion, another project's asset, or a missing one is not found
  const foreign = await mediaCmd(['get', String(otherProject.id), String(img.id), work], env);
  assert.equal(foreign.status, 3);
  const kit = await mediaCmd(['brand', String(project.id), work], env);
  assert.equal(kit.status, 0, kit.stderr);
  const k = JSON.parse(kit.stdout);
  assert.equal(k.heading_font, 'noto-serif-bold');
  assert.equal(k.heading_font_path, '/usr/share/fonts/truetype/noto/NotoSerif-Bold.ttf');
  assert.ok(fs.existsSync(k.body_font_path));
  assert.equal(path.dirname(k.logo_path), work, 'the logo is materialized too');
  assert.equal(k.logo_placement, 'top-left');
});

describe('with STORAGE=s3', () => {
  let s3, srv3, db3, dir3, user3;
  before(async () => {
    s3 = await startFakeS3();
    dir3 = fs.mkdtempSync(path.join(os.tmpdir(), 'media-s3-'));
    db3 = createDatabase('media_s3');
    srv3 = await startServer({ dbUrl: db3.url, env: { ...s3.env, STORAGE: 's3', CLIPLOOP_STORAGE_DIR: dir3, MOCK_MODE: 'true', CLIPLOOP_SCRYPT_LOG_N: '10' } });
    user3 = await betaUser(srv3.url, 'media-s3@example.com');
  });
  after(async () => {
    await srv3?.stop();
    await s3?.close();
    db3?.drop();
    if (dir3) fs.rmSync(dir3, { recursive: true, force: true });
  });

  test('an upload is stored in the bucket, served by a presigned URL and materialized by download', async () => {
    const p = (await user3.post('/api/projects', { name: 'S3 Bakery', project_type: 'business' })).body;
    const jpg = make('s3.jpg', '-f', 'lavfi', '-i', 'testsrc2=size=640x360', '-frames:v', '1');
    const r = await fetch(`${srv3.url}/api/projects/${p.id}/media`, {
      method: 'POST', body: jpg, headers: { cookie: user3.cookie, 'x-csrf-token': user3.csrf, 'x-filename': 's3.jpg' },
    });
    assert.equal(r.status, 201);
    const m = (await r.json()).media;
    assert.equal(psql(db3.url, `SELECT storage FROM media_assets WHERE id = ${m.id}`)[0][0], 's3');
    assert.ok(!fs.existsSync(path.join(dir3, 'media')), 'nothing kept on the local disk');
    const redirect = await fetch(srv3.url + m.url, { headers: { cookie: user3.cookie }, redirect: 'manual' });
    assert.equal(redirect.status, 302);
    const norm = Buffer.from(await (await fetch(redirect.headers.get('location'))).arrayBuffer());
    const work = fs.mkdtempSync(path.join(dir3, 'work-'));
    const got = await mediaCmd(['get', String(p.id), String(m.id), work], srv3.env);
    assert.equal(got.status, 0, got.stderr);
    assert.ok(fs.readFileSync(got.stdout.trim()).equals(norm));
  });
});
