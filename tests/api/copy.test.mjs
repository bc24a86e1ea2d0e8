// What the user posts must match what they see: in offline (mock) mode the
// brief, the draft and the video carry the prompt's own offer and product,
// an edited CTA reaches the draft unchanged, and for every channel the words
// on the result card (the item's draft) are the words the renderer drew.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAMA_PUT } from './lib/weeks.mjs';
import { vttCues, spokenLines, cueText } from './lib/vtt.mjs';
import { serveFresh, apiClient, psql, betaUser, demoProject, waitRendered } from './lib/harness.mjs';

let db, srv, storage, c, projectId;

// The text layers of the composition the renderer received, from the
// render job's result.
function drawn(itemId) {
  const rows = psql(db.url, `SELECT result::text FROM jobs WHERE kind = 'render.content_item'
    AND status = 'completed' AND (payload->>'content_item_id')::bigint = ${itemId} ORDER BY id DESC LIMIT 1`);
  assert.equal(rows.length, 1, `no completed render job for item ${itemId}`);
  return JSON.parse(rows[0][0]).drawn;
}

const words = (s) => s.toLowerCase().split(/\s+/).filter(Boolean);
const hasWords = (text, phrase) => words(phrase).every((w) => (text || '').toLowerCase().includes(w));

before(async () => {
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-storage-'));
  ({ db, srv } = await serveFresh('copy', { CLIPLOOP_WORKERS: '1', CLIPLOOP_STORAGE_DIR: storage, CLIPLOOP_JOB_POLL_MS: '100' }));
  c = apiClient(srv.url);
  ({ projectId } = await demoProject(c, db.url, MAMA_PUT));
});

after(async () => {
  if (srv) await srv.stop();
  if (db) db.drop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

const cases = [
  { channel: 'tiktok', prompt: 'Half price jollof trays this weekend', offer: 'half price', product: 'jollof trays' },
  { channel: 'whatsapp', prompt: 'Small chops platters, 20% off until Friday', offer: '20% off', product: 'small chops platters' },
  { channel: 'instagram', prompt: 'Free delivery on pepper soup this week', offer: 'free delivery', product: 'pepper soup' },
];

for (const k of cases) {
  test(`${k.channel}: the prompt's offer reaches brief, draft and video; the card's words are the video's`, async () => {
    const br = await c.post('/api/create/brief', { project_id: projectId, prompt: k.prompt, channel: k.channel });
    assert.equal(br.status, 200, JSON.stringify(br.body));
    const brief = br.body.brief;
    assert.ok(hasWords(brief.offer, k.offer) && hasWords(brief.offer, k.product), JSON.stringify(brief));
    assert.ok(hasWords(brief.title, k.product), `title from the offer: ${brief.title}`);
    // The user edits the CTA before generating.
    brief.cta = 'Order on WhatsApp now';
    const g = await c.post('/api/create/generate', {
      project_id: projectId, brief, channel: k.channel, request_id: `copy-${k.channel}-0001`,
    });
    assert.equal(g.status, 201, JSON.stringify(g.body));
    const item = await waitRendered(c, g.body.content_item_id);
    assert.equal(item.status, 'rendered', JSON.stringify(item));
    const d = item.draft;
    assert.equal(d.cta, 'Order on WhatsApp now');
    assert.ok(hasWords(d.hook, k.offer) && hasWords(d.caption, k.product), JSON.stringify(d));
    assert.ok(hasWords(d.caption, 'Mama Put Kitchen'), d.caption);
    for (const filler of ['just got better', 'in town', 'changes everything', 'free gift']) {
      assert.ok(!JSON.stringify(d).toLowerCase().includes(filler), `filler "${filler}" in ${JSON.stringify(d)}`);
    }
    // One source of truth: the card shows d.hook / d.caption / d.cta; the
    // video drew exactly those words (the caption clipped to fit).
    const v = drawn(item.id);
    assert.equal(v.hook, d.hook);
    assert.equal(v.cta, d.cta);
    assert.ok(d.caption.startsWith(v.caption.replace(/\.\.\.$/, '')), JSON.stringify({ card: d.caption, video: v.caption }));
    assert.ok(hasWords(v.hook, k.offer), `the video's hook carries the offer: ${v.hook}`);
  });
}

test('an edited brief outside the limits is 422 naming every field, and nothing is charged', async () => {
  const br = await c.post('/api/create/brief', { project_id: projectId, prompt: 'Jollof trays, 10% off today', channel: 'whatsapp' });
  assert.equal(br.status, 200);
  // The limits the studio shows beside the inputs come with the brief.
  assert.deepEqual(br.body.limits.duration_seconds.whatsapp, { min: 5, max: 30 });
  assert.equal(br.body.limits.fields.cta.max_chars, 120);
  const userId = psql(db.url, "SELECT id FROM users WHERE email = 'demo@cliploop.test'")[0][0];
  const charges = () => psql(db.url, `SELECT count(*) FROM credit_ledger_entries WHERE user_id = ${userId}`)[0][0];
  const before = charges();
  const brief = { ...br.body.brief, duration_seconds: 200, title: 'x'.repeat(121), cta: '', language_style: 'klingon' };
  const r = await c.post('/api/create/generate', { project_id: projectId, brief, request_id: 'copy-invalid-0001' });
  assert.equal(r.status, 422, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'validation_failed');
  assert.match(r.body.error.fields['brief.duration_seconds'], /5 to 30/);
  assert.match(r.body.error.fields['brief.title'], /120/);
  assert.match(r.body.error.fields['brief.cta'], /required/);
  assert.ok(r.body.error.fields['brief.language_style']);
  assert.equal(charges(), before, 'nothing charged');
  // 30 is fine on WhatsApp, 45 is not; the same 45 is fine on TikTok.
  const ok = await c.post('/api/create/generate', { project_id: projectId, brief: { ...br.body.brief, duration_seconds: 45 }, channel: 'tiktok', request_id: 'copy-tiktok-45-0001', render: false });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
});

test('transactions name the output they paid for, and one output lists all its charges', async () => {
  const all = await c.get('/api/me/transactions?limit=100');
  assert.equal(all.status, 200);
  const charges = all.body.items.filter((t) => t.reason === 'charge');
  assert.ok(charges.length >= 6, JSON.stringify(all.body));
  for (const t of charges) assert.ok(t.subject && t.subject.content_item_id > 0 && t.subject.title, JSON.stringify(t));
  const itemId = charges.find((t) => t.action === 'generate_video.render').subject.content_item_id;
  const one = await c.get(`/api/me/transactions?content_item_id=${itemId}`);
  assert.equal(one.status, 200);
  assert.ok(one.body.items.every((t) => t.subject.content_item_id === itemId));
  // The generation and the render of the same output, both listed.
  assert.deepEqual(one.body.items.map((t) => t.action).sort(), ['generate_video.copy', 'generate_video.render']);
  const item = await c.get(`/api/content-items/${itemId}`);
  assert.equal(one.body.items[0].subject.title, item.body.title);
  assert.equal((await c.get('/api/me/transactions?content_item_id=abc')).status, 422);
});

test('delete: an own output goes with its files and its receipts stay; another user gets 404; a rendering one is 409', async () => {
  const br = await c.post('/api/create/brief', { project_id: projectId, prompt: 'Zobo drinks, 2 for 1 today', channel: 'whatsapp' });
  const g = await c.post('/api/create/generate', { project_id: projectId, brief: br.body.brief, request_id: 'copy-delete-0001' });
  assert.equal(g.status, 201, JSON.stringify(g.body));
  const id = g.body.content_item_id;
  // While it renders it cannot be deleted (the render owns it).
  const early = await c.request('DELETE', `/api/content-items/${id}`);
  if (early.status === 409) assert.equal(early.body.error.code, 'item_in_use');
  const item = await waitRendered(c, id);
  const rows = psql(db.url, `SELECT kind, path FROM content_assets WHERE content_item_id = ${id} ORDER BY kind`);
  assert.deepEqual(rows.map((r) => r[0]), ['thumbnail', 'thumbnail_small', 'video']);
  const files = rows.map((r) => path.join(storage, r[1]));
  for (const f of files) assert.ok(existsSync(f), f);
  // Someone else cannot delete it (404, not 403: ids are not confirmed).
  const other = await betaUser(srv.url, 'copy-other@example.test');
  assert.equal((await other.request('DELETE', `/api/content-items/${id}`)).status, 404);
  const before = psql(db.url, `SELECT count(*) FROM credit_ledger_entries WHERE reference_key LIKE 'create:copy-delete-0001%'`)[0][0];
  const r = await c.request('DELETE', `/api/content-items/${id}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await c.get(`/api/content-items/${id}`)).status, 404);
  for (const f of files) assert.ok(!existsSync(f), `${f} removed`);
  assert.equal(psql(db.url, `SELECT count(*) FROM content_assets WHERE content_item_id = ${id}`)[0][0], '0');
  assert.equal(psql(db.url, `SELECT count(*) FROM credit_ledger_entries WHERE reference_key LIKE 'create:copy-delete-0001%'`)[0][0], before);
  assert.equal((await c.request('DELETE', `/api/content-items/${id}`)).status, 404);
  assert.ok(item.title);
});

test('every video has a captions track: WebVTT cues with the captions the video burns in, owner only', async () => {
  const rows = psql(db.url, `SELECT (payload->>'content_item_id')::bigint, result::text FROM jobs
    WHERE kind = 'render.content_item' AND status = 'completed' ORDER BY id LIMIT 1`);
  const itemId = Number(rows[0][0]);
  const soundtrack = JSON.parse(rows[0][1]).soundtrack;
  const r = await c.get(`/api/content-items/${itemId}/captions.vtt`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/vtt/);
  const cues = vttCues(r.text);
  // One cue per burned-in caption: the spoken lines, in order, numbered from 1.
  const item = (await c.get(`/api/content-items/${itemId}`)).body;
  assert.equal(cues.length, soundtrack.caption_cues);
  assert.deepEqual(cues.map((x) => x.text), spokenLines(item.draft).map(cueText));
  assert.deepEqual(cues.map((x) => x.id), cues.map((_, i) => String(i + 1)));
  // The cues follow each other in time, inside the video.
  for (let i = 0; i < cues.length; i++) {
    assert.ok(cues[i].end > cues[i].start && cues[i].end <= soundtrack.duration + 0.001, JSON.stringify(cues[i]));
    if (i) assert.ok(cues[i].start >= cues[i - 1].start, JSON.stringify(cues));
  }
  const other = await betaUser(srv.url, 'copy-captions@example.test');
  assert.equal((await other.get(`/api/content-items/${itemId}/captions.vtt`)).status, 404);
});
