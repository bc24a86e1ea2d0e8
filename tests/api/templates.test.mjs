// Video templates: the draft names one (the mock LLM picks it from the
// prompt: a % or a price -> offer, a review -> quote, a list -> three_reasons),
// the render records the one it drew, and the owner can switch template and
// render again — charged like a render, the switch undone when the charge is
// declined, owner-only, limited to what the channel's rules allow.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, cpSync, writeFileSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAMA_PUT } from './lib/weeks.mjs';
import { vttCues, spokenLines, cueText } from './lib/vtt.mjs';
import { createDatabase, startServer, apiClient, psql, betaUser, demoProject, waitRendered } from './lib/harness.mjs';

let db, srv, storage, scripts, c, projectId;

const renders = (id) => psql(db.url, `SELECT result->>'template' FROM jobs WHERE kind = 'render.content_item'
  AND status = 'completed' AND (payload->>'content_item_id')::bigint = ${id} ORDER BY id`).map((r) => r[0]);

before(async () => {
  db = createDatabase('templates');
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-storage-'));
  // A copy of the scripts whose whatsapp rules allow two templates only and ask
  // for 1:1 and 16:9 variants besides the 9:16 video.
  scripts = mkdtempSync(path.join(tmpdir(), 'cliploop-scripts-'));
  cpSync(path.join(process.env.CLIPLOOP_SOURCE_DIR, 'scripts'), scripts, { recursive: true });
  const wa = path.join(scripts, 'channels', 'whatsapp.lua');
  writeFileSync(wa, readFileSync(wa, 'utf8').replace(/\nreturn rules\s*$/, '\nrules.templates = { "offer", "quote" }\nrules.variants = { "1:1", "16:9" }\nreturn rules\n'));
  srv = await startServer({
    dbUrl: db.url,
    env: { MOCK_MODE: 'true', CLIPLOOP_WORKERS: '1', CLIPLOOP_STORAGE_DIR: storage, CLIPLOOP_JOB_POLL_MS: '100',
      CLIPLOOP_SCRIPTS_DIR: scripts },
  });
  c = apiClient(srv.url);
  ({ projectId } = await demoProject(c, db.url, MAMA_PUT));
});

after(async () => {
  if (srv) await srv.stop();
  if (db) db.drop();
  for (const d of [storage, scripts]) if (d) rmSync(d, { recursive: true, force: true });
});

async function generate(prompt, channel, id) {
  const br = await c.post('/api/create/brief', { project_id: projectId, prompt, channel });
  assert.equal(br.status, 200, JSON.stringify(br.body));
  const g = await c.post('/api/create/generate', { project_id: projectId, brief: br.body.brief, channel, request_id: id });
  assert.equal(g.status, 201, JSON.stringify(g.body));
  return waitRendered(c, g.body.content_item_id);
}

test('the draft picks the template from the prompt; the render draws it and records it', async () => {
  const offer = await generate('Small chops platters, 20% off until Friday', 'tiktok', 'tpl-offer-0001');
  assert.equal(offer.status, 'rendered', JSON.stringify(offer));
  assert.equal(offer.draft.template, 'offer');
  assert.deepEqual(renders(offer.id), ['offer']);

  const list = await generate('Three reasons office workers love our jollof at lunch', 'instagram', 'tpl-list-0001');
  assert.equal(list.draft.template, 'three_reasons');
  assert.deepEqual(renders(list.id), ['three_reasons']);
});

test('switch template and render again: charged like a render, the new template drawn', async () => {
  // The list is a summary (no draft): each item's draft comes from its own route.
  const listed = (await c.get('/api/content-items')).body.items;
  const item = (await Promise.all(listed.map((i) => c.get(`/api/content-items/${i.id}`)))).map((r) => r.body)
    .find((i) => i.draft.template === 'offer');
  const credits0 = (await c.get('/api/me/credits')).body;
  const list = await c.get('/api/templates?channel=tiktok');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.templates.map((t) => t.id).sort(), ['offer', 'quote', 'showcase', 'three_reasons']);
  assert.ok(list.body.templates.every((t) => t.allowed && t.label && t.description));

  const r = await c.post(`/api/content-items/${item.id}/template`, { template: 'quote' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.template, 'quote');
  assert.equal(r.body.receipt.amount, -1);
  assert.equal(r.body.receipt.kind, 'render');
  const done = await waitRendered(c, item.id);
  assert.equal(done.status, 'rendered');
  assert.equal(done.draft.template, 'quote');
  assert.deepEqual(renders(item.id), ['offer', 'quote']);
  const credits1 = (await c.get('/api/me/credits')).body;
  assert.notDeepEqual(credits1, credits0);
  // The captions track is the captions the quote video burns in: the spoken
  // lines once each (the quote shows the hook twice; the track does not repeat it).
  const vtt = await c.get(`/api/content-items/${item.id}/captions.vtt`);
  assert.equal(vtt.status, 200);
  const cues = vttCues(vtt.text);
  const result = JSON.parse(psql(db.url, `SELECT result::text FROM jobs WHERE id = ${done.render_job.id}`)[0][0]);
  assert.equal(cues.length, result.soundtrack.caption_cues);
  assert.deepEqual(cues.map((x) => x.text), spokenLines(done.draft).map(cueText));
  assert.equal(new Set(cues.map((x) => x.text)).size, cues.length, vtt.text);
});

test('bad switches: unknown template 422, a channel that does not allow it 422, a stranger 404, no credits 402 (template unchanged)', async () => {
  const { id } = (await c.get('/api/content-items')).body.items.find((i) => i.status === 'rendered');
  const item = (await c.get(`/api/content-items/${id}`)).body; // the list is a summary; the draft is here
  let r = await c.post(`/api/content-items/${item.id}/template`, { template: 'nope' });
  assert.equal(r.status, 422, JSON.stringify(r.body));
  assert.ok(r.body.error.fields.template);
  r = await c.post(`/api/content-items/${item.id}/template`, { template: '../channels/tiktok' });
  assert.equal(r.status, 422);
  r = await c.post(`/api/content-items/${item.id}/template`, {});
  assert.equal(r.status, 422);

  const wa = await generate('Jollof trays, 10% off today', 'whatsapp', 'tpl-wa-0001');
  assert.ok(['offer', 'quote'].includes(wa.draft.template), wa.draft.template);
  const waList = (await c.get('/api/templates?channel=whatsapp')).body.templates;
  assert.deepEqual(waList.filter((t) => t.allowed).map((t) => t.id).sort(), ['offer', 'quote']);
  r = await c.post(`/api/content-items/${wa.id}/template`, { template: 'showcase' });
  assert.equal(r.status, 422, JSON.stringify(r.body));
  assert.match(r.body.error.fields.template, /whatsapp/);

  const eve = await betaUser(srv.url, 'eve-templates@example.test');
  r = await eve.post(`/api/content-items/${item.id}/template`, { template: 'quote' });
  assert.equal(r.status, 404);

  const before = item.draft.template;
  const uid = psql(db.url, "SELECT user_id FROM content_items WHERE id = " + item.id)[0][0];
  psql(db.url, `UPDATE credit_accounts SET render_balance = 0 WHERE user_id = ${uid}`);
  r = await c.post(`/api/content-items/${item.id}/template`, { template: 'three_reasons' });
  assert.equal(r.status, 402, JSON.stringify(r.body));
  const after = (await c.get(`/api/content-items/${item.id}`)).body;
  assert.equal(after.draft.template, before);
  assert.equal(after.status, 'rendered');
});

test('aspect variants: the channel asks for 1:1 and 16:9; each is an asset of its size with its own thumbnail, and in the export', async () => {
  const item = (await c.get('/api/content-items')).body.items.find((i) => i.channel === 'whatsapp' && i.status === 'rendered');
  assert.ok(item, 'a rendered whatsapp item');
  const full = (await c.get(`/api/content-items/${item.id}`)).body;
  const seq = Math.max(...full.assets.map((a) => a.render_seq ?? 0));
  const kinds = full.assets.filter((a) => (a.render_seq ?? seq) === seq).map((a) => a.kind).sort();
  for (const k of ['video', 'thumbnail', 'video_1x1', 'thumbnail_1x1', 'video_16x9', 'thumbnail_16x9']) assert.ok(kinds.includes(k), `${k} in ${kinds}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'cliploop-variants-'));
  try {
    const sizes = { video: '1080x1920', video_1x1: '1080x1080', video_16x9: '1920x1080', thumbnail_1x1: '1080x1080', thumbnail_16x9: '1920x1080' };
    for (const [kind, size] of Object.entries(sizes)) {
      const a = full.assets.find((x) => x.kind === kind && (x.render_seq ?? seq) === seq);
      const r = await fetch(`${srv.url}/api/assets/${a.id}`, { headers: c.headers?.() ?? { cookie: c.cookie } });
      assert.equal(r.status, 200, kind);
      const f = path.join(dir, kind);
      writeFileSync(f, Buffer.from(await r.arrayBuffer()));
      const probe = JSON.parse(spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,codec_name',
        '-of', 'json', f], { encoding: 'utf8' }).stdout);
      const s = probe.streams[0];
      assert.equal(`${s.width}x${s.height}`, size, kind);
      assert.equal(s.codec_name, kind.startsWith('video') ? 'h264' : 'mjpeg', kind);
    }
    const z = await fetch(`${srv.url}/api/content-items/${item.id}/export`, { headers: c.headers?.() ?? { cookie: c.cookie } });
    assert.equal(z.status, 200);
    writeFileSync(path.join(dir, 'b.zip'), Buffer.from(await z.arrayBuffer()));
    const list = spawnSync('unzip', ['-l', 'b.zip'], { cwd: dir, encoding: 'utf8' }).stdout;
    assert.match(list, /assets\/video\.mp4/);
    assert.match(list, /assets\/video-1x1\.mp4/);
    assert.match(list, /assets\/video-16x9\.mp4/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
