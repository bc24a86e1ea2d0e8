// Words and sound end to end (docs/audio.md): a render gets a voiceover
// (espeak-ng, offline), the chosen bundled bed ducked under it and
// word-timed captions; the mix is at -14 LUFS; an audio choice that names no
// bed or track is refused before anything is charged; and a voice engine
// that fails (tests/fakes/tts_fake.mjs answering 500) fails the item with the
// engine's words and refunds the render credit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promoDraft } from './lib/drafts.mjs';
import { createDatabase, startServer, apiClient, psql, RENDER_WAIT_MS } from './lib/harness.mjs';
import { startTtsFake, speechWav } from '../fakes/tts_fake.mjs';

let db, srv, failing, fake, storage;

const DRAFT = promoDraft({
  hook: 'Weekend jollof, half price', beats: ['Open on the steaming pot', 'Half price Saturday and Sunday', 'Order on WhatsApp'],
  caption: 'Half-price jollof this weekend only at Mama Put Kitchen. Come hungry!', cta: 'Order on WhatsApp',
  variant: { tiktok: { caption: 'Half-price jollof all weekend', cta: 'Order on WhatsApp' } },
  voiceover: ['Weekend jollof, half price.', 'Saturday and Sunday only.', 'Order on WhatsApp today.'],
  caption_hint: 'short and warm', hashtags: ['#jollof'],
});

const PROJECT = {
  name: 'Mama Put Kitchen', project_type: 'business', business_name: 'Mama Put Kitchen',
  category: 'Restaurant', city: 'Lagos', target_audience: 'Office workers nearby',
  primary_offer: 'Party jollof trays', preferred_channels: ['tiktok'], language_style: 'english',
};

const env = (extra) => ({ MOCK_MODE: 'true', CLIPLOOP_WORKERS: '1', CLIPLOOP_STORAGE_DIR: storage,
  CLIPLOOP_JOB_POLL_MS: '100', CLIPLOOP_JOB_BACKOFF_MS: '100', CLIPLOOP_JOB_MAX_ATTEMPTS: '2', CLIPLOOP_TEST_ROUTES: 'true', ...extra });

async function signedIn(server, email) {
  const c = apiClient(server.url);
  assert.equal((await c.signup(email)).status, 201);
  assert.equal((await c.post('/api/dev/approve-user', { email, plan: 'beta' })).status, 200);
  const p = await c.post('/api/projects', PROJECT);
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const item = await c.post('/api/content-items', { project_id: p.body.project?.id ?? p.body.id, channel: 'tiktok', draft: DRAFT });
  assert.equal(item.status, 201, JSON.stringify(item.body));
  return { c, item: item.body, projectId: p.body.project?.id ?? p.body.id };
}

async function waitForItem(server, c, id, pred, ms = RENDER_WAIT_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const r = await c.get(`/api/content-items/${id}`);
    if (pred(r.body)) return r.body;
    if (Date.now() > end) throw new Error(`item never reached the state: ${JSON.stringify(r.body)}\n${server.proc.log.slice(-3000)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

before(async () => {
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-audio-'));
  db = createDatabase('audio');
  fake = await startTtsFake();
  srv = await startServer({ dbUrl: db.url, env: env({}) });
});

after(async () => {
  if (srv) await srv.stop();
  if (failing) await failing.stop();
  if (fake) await fake.close();
  if (db) db.drop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

test('a render speaks the voiceover over the chosen bed, with word-timed captions, at -14 LUFS', async () => {
  const { c, item, projectId } = await signedIn(srv, 'vo@example.com');
  const beds = await c.get('/api/music/beds');
  assert.equal(beds.status, 200);
  assert.deepEqual(beds.body.beds.map((b) => b.id).sort(), ['bright', 'calm', 'drive', 'upbeat']);
  assert.equal(beds.body.beds.find((b) => b.default).id, 'upbeat');
  assert.equal(beds.body.voiceover_available, true);
  assert.equal((await apiClient(srv.url).get('/api/music/beds')).status, 401);

  // A choice that names nothing real is refused before anything is charged.
  const credits = (await c.get('/api/me/credits')).body;
  for (const bad of [{ music: 'nosuch' }, { music: 'media:999999' }, { voiceover: 'yes' }, { music: 7 }]) {
    const r = await c.post(`/api/content-items/${item.id}/render`, bad);
    assert.equal(r.status, 422, JSON.stringify(bad));
    assert.equal(r.body.error.code, 'invalid_audio');
  }
  assert.deepEqual((await c.get('/api/me/credits')).body, credits);
  assert.equal(psql(db.url, `SELECT status FROM content_items WHERE id = ${item.id}`)[0][0], 'draft');

  const r = await c.post(`/api/content-items/${item.id}/render`, { voiceover: true, music: 'calm' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const done = await waitForItem(srv, c, item.id, (x) => x.status === 'rendered' || x.status === 'render_failed');
  assert.equal(done.status, 'rendered', JSON.stringify(done));
  assert.deepEqual(done.audio, { voiceover: true, music: 'calm' });
  const result = JSON.parse(psql(db.url, `SELECT result::text FROM jobs WHERE id = ${done.render_job.id}`)[0][0]);
  assert.equal(result.soundtrack.voiceover, true);
  assert.equal(result.soundtrack.music, true);
  assert.equal(result.soundtrack.caption_mode, 'words');
  assert.equal(result.soundtrack.caption_cues, 3);

  // The video's AAC track, measured with ffmpeg's ebur128 filter.
  const video = done.assets.find((a) => a.kind === 'video');
  const bytes = Buffer.from(await (await fetch(srv.url + video.url, { headers: { cookie: c.cookie } })).arrayBuffer());
  const dir = mkdtempSync(path.join(tmpdir(), 'cliploop-audio-probe-'));
  const file = path.join(dir, 'v.mp4');
  writeFileSync(file, bytes);
  const meter = spawnSync('ffmpeg', ['-hide_banner', '-nostats', '-i', file, '-map', '0:a', '-af', 'ebur128', '-f', 'null', '-'], { encoding: 'utf8' });
  rmSync(dir, { recursive: true, force: true });
  const m = /I:\s+(-?[\d.]+) LUFS\s+Threshold/s.exec(meter.stderr.split('Summary:').pop());
  assert.ok(m, meter.stderr.slice(-800));
  assert.ok(Math.abs(Number(m[1]) + 14) <= 1.5, `integrated loudness ${m[1]} LUFS`);

  // No voice and no music: the silent track, and no captions (no words are spoken).
  const again = await c.post(`/api/content-items/${item.id}/render`, { voiceover: false, music: 'none' });
  assert.equal(again.status, 202, JSON.stringify(again.body));
  const quiet = await waitForItem(srv, c, item.id, (x) => (x.status === 'rendered' && x.render_seq === 2) || x.status === 'render_failed');
  assert.equal(quiet.status, 'rendered', JSON.stringify(quiet));
  const r2 = JSON.parse(psql(db.url, `SELECT result::text FROM jobs WHERE id = ${quiet.render_job.id}`)[0][0]);
  assert.equal(r2.soundtrack.voiceover, false);
  assert.equal(r2.soundtrack.music, false);
  assert.equal(r2.soundtrack.caption_mode, 'lines'); // the draft's lines, timed across the video

  // The owner's own track from the media library (uploaded, kept, normalized to 48 kHz stereo).
  const up = await fetch(`${srv.url}/api/projects/${projectId}/media`, {
    method: 'POST', body: speechWav('one two three four five six seven eight'),
    headers: { cookie: c.cookie, 'x-csrf-token': c.csrf, 'x-filename': 'jingle.wav', 'content-type': 'audio/wav' },
  });
  const media = (await up.json()).media;
  assert.equal(up.status, 201, JSON.stringify(media));
  assert.equal(media.kind, 'audio');
  const own = await c.post(`/api/content-items/${item.id}/render`, { voiceover: true, music: `media:${media.id}` });
  assert.equal(own.status, 202, JSON.stringify(own.body));
  const withTrack = await waitForItem(srv, c, item.id, (x) => (x.status === 'rendered' && x.render_seq === 3) || x.status === 'render_failed');
  assert.equal(withTrack.status, 'rendered', JSON.stringify(withTrack));
  assert.deepEqual(withTrack.audio, { voiceover: true, music: `media:${media.id}` });
  const r3 = JSON.parse(psql(db.url, `SELECT result::text FROM jobs WHERE id = ${withTrack.render_job.id}`)[0][0]);
  assert.equal(r3.soundtrack.music, true);
  assert.equal(r3.soundtrack.voiceover, true);

  // Someone else's track is not a choice for this item.
  const other = await signedIn(srv, 'other@example.com');
  const refused = await other.c.post(`/api/content-items/${other.item.id}/render`, { music: `media:${media.id}` });
  assert.equal(refused.status, 422);
  assert.equal(refused.body.error.code, 'invalid_audio');
});

test('a render refused by the plan (429) or the credits (402) leaves the audio choice as it was', async () => {
  const { c, item } = await signedIn(srv, 'refused@example.com');
  const audioOf = async () => (await c.get(`/api/content-items/${item.id}`)).body.audio;
  assert.deepEqual(await audioOf(), {});
  // No render credits: 402, and the choice sent with it is not kept.
  await c.get('/api/me/credits'); // this month's grant is in
  const uid = psql(db.url, `SELECT user_id FROM content_items WHERE id = ${item.id}`)[0][0];
  const balance = psql(db.url, `SELECT render_balance FROM credit_accounts WHERE user_id = ${uid}`)[0][0];
  psql(db.url, `UPDATE credit_accounts SET render_balance = 0 WHERE user_id = ${uid}`);
  let r = await c.post(`/api/content-items/${item.id}/render`, { voiceover: false, music: 'calm' });
  assert.equal(r.status, 402, JSON.stringify(r.body));
  assert.deepEqual(await audioOf(), {});
  psql(db.url, `UPDATE credit_accounts SET render_balance = ${balance} WHERE user_id = ${uid}`);
  // The plan's 20 renders this month used up: 429, nothing kept either.
  for (let i = 0; i < 20; i++) {
    const x = await c.post('/api/_test/credits/charge', { action: 'content_item.render', reference_key: `audio-used-${i}` });
    assert.equal(x.status, 201, JSON.stringify(x.body));
  }
  r = await c.post(`/api/content-items/${item.id}/render`, { voiceover: false, music: 'drive' });
  assert.equal(r.status, 429, JSON.stringify(r.body));
  assert.equal(r.body.error.limit_name, 'renders_per_month');
  assert.deepEqual(await audioOf(), {});
  assert.equal(psql(db.url, `SELECT status FROM content_items WHERE id = ${item.id}`)[0][0], 'draft');
});

test('a voice engine that fails: the item says why and the render credit is refunded', async () => {
  // one server (and its worker) on the database at a time: the espeak one goes
  await srv.stop();
  srv = null;
  failing = await startServer({
    dbUrl: db.url,
    env: env({ TTS_PROVIDER: 'openai_compat', TTS_OPENAI_COMPAT_BASE_URL: fake.baseUrl, TTS_OPENAI_COMPAT_MODEL: 'fake-500',
      TTS_OPENAI_COMPAT_API_KEY: 'sk-test', TTS_OPENAI_COMPAT_MAX_RETRIES: '0', CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS: String(fake.port) }),
  });
  const { c, item } = await signedIn(failing, 'fail@example.com');
  const before = (await c.get('/api/me/credits')).body;
  const r = await c.post(`/api/content-items/${item.id}/render`, { music: 'upbeat' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const done = await waitForItem(failing, c, item.id, (x) => x.status === 'render_failed' || x.status === 'rendered');
  assert.equal(done.status, 'render_failed', JSON.stringify(done));
  assert.match(done.render_error, /^The voiceover could not be made \(openai_compat\): the voice server failed \(500\): The server had an error/);
  assert.deepEqual(done.assets, []);
  // the refund is a compensating entry; the balance is back where it was
  const after = await waitForItem(failing, c, item.id, () => true);
  assert.equal(after.status, 'render_failed');
  const credits = (await c.get('/api/me/credits')).body;
  assert.deepEqual(credits, before);
  assert.equal(psql(db.url, `SELECT count(*) FROM credit_ledger_entries WHERE reference_key LIKE 'refund:content_item:${item.id}:render:%'`)[0][0], '1');
  // the request the engine made, as the protocol has it
  const calls = fake.requests.filter((q) => q.path === '/v1/audio/speech');
  assert.ok(calls.length >= 1);
  assert.equal(calls[0].headers.authorization, 'Bearer sk-test');
  assert.equal(calls[0].body.model, 'fake-500');
  assert.equal(calls[0].body.response_format, 'wav');
  assert.equal(calls[0].body.input, DRAFT.voiceover.join(' '));
});
