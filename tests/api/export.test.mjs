// Manual export over HTTP: the ZIP bundle (written with libarchive) holds the
// rendered video and thumbnail, the channel-aware caption and CTA, a
// manifest whose sizes and SHA-256 match the files, and a README; exporting
// marks the item exported and leaves no file behind; bulk export puts one
// folder per item in one ZIP; the manual queue filters and sorts; marking
// posted records the optional link; foreign ids are 404.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { vttCues, spokenLines, cueText } from './lib/vtt.mjs';
import { createDatabase, psql, startProcess } from './lib/harness.mjs';
import { startInstagramFake } from '../fakes/instagram_fake.mjs';
import { startPublishingServer, userWithProject, renderedItem, copyItem } from './lib/publishing.mjs';

let db, srv, fake, storage, ada, rendered;

before(async () => {
  db = createDatabase('export');
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-export-'));
  fake = await startInstagramFake();
  srv = await startPublishingServer({ db, fake, storage });
  ada = await userWithProject(srv, 'ada@example.com');
  const w = startProcess(['worker'], srv.env);
  try {
    rendered = await renderedItem(ada.c, ada.projectId, 'tiktok');
  } finally {
    await w.stop();
  }
});

after(async () => {
  if (srv) await srv.stop();
  if (fake) await fake.close();
  if (db) db.drop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

/** Download a ZIP; returns { dir, files: {name: Buffer}, list } (unzip reads it). */
async function fetchZip(c, url) {
  const r = await fetch(srv.url + url, { headers: { cookie: c.cookie } });
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal(r.headers.get('content-type'), 'application/zip');
  const bytes = Buffer.from(await r.arrayBuffer());
  assert.equal(Number(r.headers.get('content-length')), bytes.length);
  const dir = mkdtempSync(path.join(tmpdir(), 'cliploop-zip-'));
  writeFileSync(path.join(dir, 'b.zip'), bytes);
  const test_ = spawnSync('unzip', ['-t', 'b.zip'], { cwd: dir, encoding: 'utf8' });
  assert.equal(test_.status, 0, test_.stdout + test_.stderr);
  const list = spawnSync('unzip', ['-Z1', 'b.zip'], { cwd: dir, encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  const files = {};
  // maxBuffer: spawnSync keeps only 1 MiB of stdout by default, less than a video.
  for (const name of list) files[name] = spawnSync('unzip', ['-p', 'b.zip', name], { cwd: dir, maxBuffer: 1 << 28 }).stdout;
  rmSync(dir, { recursive: true, force: true });
  return { list, files, headers: r.headers };
}

function approve(id) {
  return ada.c.post(`/api/content-items/${id}/approve`);
}

test('one item: assets, channel-aware text, manifest hashes, README; marked exported; nothing left on disk', async () => {
  const id = rendered.id;
  psql(db.url, `UPDATE content_items SET tracking_slug = 'jollofTT01' WHERE id = ${id}`);
  let r = await approve(id);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await ada.c.get(`/api/content-items/${id}`)).body.manual_status, 'ready_for_export');

  const { list, files, headers } = await fetchZip(ada.c, `/api/content-items/${id}/export`);
  assert.match(headers.get('content-disposition'), new RegExp(`attachment; filename="cliploop-item-${id}\\.zip"`));
  assert.deepEqual(list.sort(), ['README.txt', 'assets/captions.vtt', 'assets/thumbnail.jpg', 'assets/video.mp4', 'caption.txt', 'cta.txt', 'manifest.json']);
  const manifest = JSON.parse(files['manifest.json']);
  assert.equal(manifest.item.id, id);
  assert.equal(manifest.project.id, ada.projectId);
  assert.equal(manifest.channel, 'tiktok');
  assert.equal(manifest.strategy, 'manual_export');
  assert.equal(manifest.tracking_link, `${srv.url}/r/jollofTT01`);
  assert.equal(manifest.tracking_link_in_caption, false);
  // Every listed file's size and SHA-256 match the bytes in the ZIP.
  assert.deepEqual(manifest.files.map((f) => f.path).sort(), ['README.txt', 'assets/captions.vtt', 'assets/thumbnail.jpg', 'assets/video.mp4', 'caption.txt', 'cta.txt']);
  // The captions track: the same WebVTT the studio serves with the video.
  assert.equal(files['assets/captions.vtt'].toString(), (await ada.c.get(`/api/content-items/${id}/captions.vtt`)).text);
  // The first spoken line opens the track within the video's first second.
  const cues = vttCues(files['assets/captions.vtt'].toString());
  assert.ok(cues.length > 0, files['assets/captions.vtt'].toString());
  assert.equal(cues[0].text, cueText(spokenLines(rendered.draft)[0]));
  assert.ok(cues[0].start < 1, `first cue starts at ${cues[0].start} s`);
  for (const f of manifest.files) {
    assert.equal(files[f.path].length, f.bytes, f.path);
    assert.equal(crypto.createHash('sha256').update(files[f.path]).digest('hex'), f.sha256, f.path);
  }
  // The video is the rendered file.
  const video = rendered.assets.find((a) => a.kind === 'video');
  assert.equal(files['assets/video.mp4'].length, video.bytes);
  assert.equal(files['assets/video.mp4'].subarray(4, 8).toString('latin1'), 'ftyp');
  // TikTok's variant, hashtags, no link in the caption (TikTok's rules keep it in the bio).
  assert.equal(files['caption.txt'].toString(), 'Half-price jollof all weekend\n\n#jollof #lagosfood\n');
  assert.equal(files['cta.txt'].toString(), 'Tap to order\n');
  assert.match(files['README.txt'].toString(), /How to post this on TikTok/);

  const after_ = (await ada.c.get(`/api/content-items/${id}`)).body;
  assert.equal(after_.manual_status, 'exported');
  assert.ok(after_.exported_at);
  assert.deepEqual(readdirSync(path.join(storage, 'tmp', 'exports')), [], 'the bundle file is gone');

  // Someone else's item: 404, and nothing is written.
  const eve = await userWithProject(srv, 'eve@example.com');
  r = await eve.c.get(`/api/content-items/${id}/export`);
  assert.equal(r.status, 404);
  r = await eve.c.get(`/api/manual-queue/export?ids=${id}`);
  assert.equal(r.status, 404);
  r = await fetch(`${srv.url}/api/content-items/${id}/export`);
  assert.equal(r.status, 401);
  assert.deepEqual(readdirSync(path.join(storage, 'tmp', 'exports')), []);
});

test('WhatsApp carries the tracking link in the caption; an unrendered item exports its text only', async () => {
  const wa = copyItem(db.url, rendered.id, 'whatsapp');
  psql(db.url, `UPDATE content_items SET tracking_slug = 'jollofWA01' WHERE id = ${wa}`);
  const { files } = await fetchZip(ada.c, `/api/content-items/${wa}/export`);
  assert.equal(files['caption.txt'].toString(),
    `Half-price jollof this weekend only at Mama Put Kitchen. Come hungry!\n\n${srv.url}/r/jollofWA01\n`);
  assert.equal(JSON.parse(files['manifest.json']).tracking_link_in_caption, true);
  assert.match(files['README.txt'].toString(), /WhatsApp/);

  const r = await ada.c.post('/api/content-items', { project_id: ada.projectId, channel: 'instagram', draft: rendered.draft });
  assert.equal(r.status, 201);
  const plain = await fetchZip(ada.c, `/api/content-items/${r.body.id}/export`);
  assert.deepEqual(plain.list.sort(), ['README.txt', 'caption.txt', 'cta.txt', 'manifest.json']);
  assert.deepEqual(JSON.parse(plain.files['manifest.json']).files.map((f) => f.path).sort(), ['README.txt', 'caption.txt', 'cta.txt']);
});

test('bulk export: one ZIP, one folder per item; the queue filters, sorts and marks posted', async () => {
  const a = copyItem(db.url, rendered.id, 'tiktok');
  const b = copyItem(db.url, rendered.id, 'whatsapp');
  const c = copyItem(db.url, rendered.id, 'instagram');
  for (const id of [a, b, c]) assert.equal((await approve(id)).status, 200);
  psql(db.url, `UPDATE content_items SET scheduled_at = now() + interval '2 days' WHERE id = ${a}`);
  psql(db.url, `UPDATE content_items SET scheduled_at = now() + interval '1 day' WHERE id = ${b}`);

  let q = await ada.c.get('/api/manual-queue?status=ready_for_export');
  assert.equal(q.status, 200);
  assert.deepEqual(q.body.items.map((i) => i.id), [b, a, c], 'sorted by schedule, unscheduled last');
  q = await ada.c.get('/api/manual-queue?status=ready_for_export&sort=created');
  assert.deepEqual(q.body.items.map((i) => i.id), [c, b, a]);
  q = await ada.c.get('/api/manual-queue?channel=whatsapp&status=ready_for_export');
  assert.deepEqual(q.body.items.map((i) => i.id), [b]);
  assert.equal(q.body.items[0].project_name, 'Mama Put Kitchen');
  assert.ok(q.body.items[0].video_asset_id && q.body.items[0].thumbnail_asset_id);
  for (const bad of ['channel=myspace', 'status=lost', 'sort=random', 'project_id=x'])
    assert.equal((await ada.c.get(`/api/manual-queue?${bad}`)).status, 400, bad);

  const { list, files } = await fetchZip(ada.c, `/api/manual-queue/export?ids=${a},${b},${c}`);
  for (const id of [a, b, c]) {
    for (const f of ['manifest.json', 'caption.txt', 'cta.txt', 'README.txt', 'assets/video.mp4', 'assets/thumbnail.jpg', 'assets/captions.vtt'])
      assert.ok(list.includes(`item-${id}/${f}`), `item-${id}/${f}`);
    const m = JSON.parse(files[`item-${id}/manifest.json`]);
    assert.equal(m.item.id, id);
    for (const f of m.files)
      assert.equal(crypto.createHash('sha256').update(files[`item-${id}/${f.path}`]).digest('hex'), f.sha256);
  }
  q = await ada.c.get('/api/manual-queue?status=exported');
  for (const id of [a, b, c]) assert.ok(q.body.items.some((i) => i.id === id));
  for (const bad of ['', 'x', '1,,2', '0'])
    assert.equal((await ada.c.get(`/api/manual-queue/export?ids=${bad}`)).status, 400, bad);

  // Mark posted, with and without a link; bad links are refused.
  let r = await ada.c.post(`/api/content-items/${a}/mark-posted`, { posted_url: 'https://www.tiktok.com/@mamaput/video/1' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.manual_status, 'posted');
  assert.equal(r.body.posted_url, 'https://www.tiktok.com/@mamaput/video/1');
  r = await ada.c.post(`/api/content-items/${b}/mark-posted`);
  assert.equal(r.status, 200);
  assert.equal(r.body.posted_url, null);
  r = await ada.c.post(`/api/content-items/${c}/mark-posted`, { posted_url: 'javascript:alert(1)' });
  assert.equal(r.status, 422);
  q = await ada.c.get('/api/manual-queue?status=posted');
  assert.deepEqual(q.body.items.map((i) => i.id).sort(), [a, b].sort());
  // Exporting a posted item again keeps it posted.
  await fetchZip(ada.c, `/api/content-items/${a}/export`);
  assert.equal((await ada.c.get(`/api/content-items/${a}`)).body.manual_status, 'posted');
  // A direct-publish item is not marked posted by hand; a foreign one is 404.
  psql(db.url, `UPDATE content_items SET publish_strategy = 'direct_instagram', manual_status = NULL WHERE id = ${c}`);
  r = await ada.c.post(`/api/content-items/${c}/mark-posted`);
  assert.equal(r.status, 409);
  const eve = await userWithProject(srv, 'fay@example.com');
  r = await eve.c.post(`/api/content-items/${a}/mark-posted`);
  assert.equal(r.status, 404);
  assert.equal((await eve.c.get('/api/manual-queue')).body.items.length, 0);
});
