// Aspect variants with a renderer built against SDK ABI 2.0 (before a render
// call could make several videos): render_ffmpeg compiled as an ABI 2.0 plugin
// (id ffmpeg_abi20, build/test-plugins/render_abi20/). The host sees its
// cl_renderer end before max_outputs, so it calls it once per video; the item
// still gets the primary video and every variant the channel asks for, each
// an asset of its size with its own thumbnail. With the 2.1 renderer (ffmpeg)
// the same item takes one renderer call for all four videos.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, cpSync, writeFileSync, readFileSync, readdirSync, symlinkSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAMA_PUT } from './lib/weeks.mjs';
import { createDatabase, startServer, apiClient, psql, demoProject, waitRendered } from './lib/harness.mjs';

const BUILD = process.env.CLIPLOOP_BUILD_DIR || path.join(process.env.CLIPLOOP_SOURCE_DIR, 'build');
const ABI20 = path.join(BUILD, 'test-plugins', 'render_abi20', 'render_ffmpeg_abi20.so');

let db, storage, scripts, plugins, projectId;

before(() => {
  assert.ok(existsSync(ABI20), `${ABI20} is built with the project`);
  db = createDatabase('variants_abi20');
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-storage-'));
  // whatsapp's rules ask for every other aspect: 1:1, 4:5 and 16:9 besides the 9:16 video.
  scripts = mkdtempSync(path.join(tmpdir(), 'cliploop-scripts-'));
  cpSync(path.join(process.env.CLIPLOOP_SOURCE_DIR, 'scripts'), scripts, { recursive: true });
  const wa = path.join(scripts, 'channels', 'whatsapp.lua');
  writeFileSync(wa, readFileSync(wa, 'utf8').replace(/\nreturn rules\s*$/, '\nrules.variants = { "1:1", "4:5", "16:9" }\nreturn rules\n'));
  // the project's plugins plus the ABI 2.0 renderer
  plugins = mkdtempSync(path.join(tmpdir(), 'cliploop-plugins-'));
  for (const f of readdirSync(path.join(BUILD, 'plugins')).filter((f) => f.endsWith('.so')))
    symlinkSync(path.join(BUILD, 'plugins', f), path.join(plugins, f));
  symlinkSync(ABI20, path.join(plugins, 'render_ffmpeg_abi20.so'));
});

after(() => {
  if (db) db.drop();
  for (const d of [storage, scripts, plugins]) if (d) rmSync(d, { recursive: true, force: true });
});

const SIZES = { video: '1080x1920', video_1x1: '1080x1080', video_4x5: '1080x1350', video_16x9: '1920x1080',
  thumbnail: '1080x1920', thumbnail_1x1: '1080x1080', thumbnail_4x5: '1080x1350', thumbnail_16x9: '1920x1080' };

async function renderWith(renderer, requestId) {
  const srv = await startServer({
    dbUrl: db.url,
    env: { MOCK_MODE: 'true', CLIPLOOP_WORKERS: '1', CLIPLOOP_STORAGE_DIR: storage, CLIPLOOP_JOB_POLL_MS: '100',
      CLIPLOOP_SCRIPTS_DIR: scripts, CLIPLOOP_PLUGIN_DIR: plugins, RENDERER: renderer },
  });
  try {
    const c = apiClient(srv.url);
    if (projectId) assert.equal((await c.demoLogin()).status, 200);
    else ({ projectId } = await demoProject(c, db.url, MAMA_PUT));
    const br = await c.post('/api/create/brief', { project_id: projectId, prompt: 'Jollof trays for the office, order by noon', channel: 'whatsapp' });
    assert.equal(br.status, 200, JSON.stringify(br.body));
    const g = await c.post('/api/create/generate', { project_id: projectId, brief: br.body.brief, channel: 'whatsapp', request_id: requestId });
    assert.equal(g.status, 201, JSON.stringify(g.body));
    const item = await waitRendered(c, g.body.content_item_id, 240000);
    assert.equal(item.status, 'rendered', JSON.stringify(item));
    const [result] = psql(db.url, `SELECT result::text FROM jobs WHERE kind = 'render.content_item' AND status = 'completed'
      AND (payload->>'content_item_id')::bigint = ${item.id} ORDER BY id DESC LIMIT 1`).map((r) => JSON.parse(r[0]));
    // every video and thumbnail is an asset of its size
    const dir = mkdtempSync(path.join(tmpdir(), 'cliploop-variants-'));
    try {
      const kinds = item.assets.map((a) => a.kind);
      for (const [kind, size] of Object.entries(SIZES)) {
        const a = item.assets.find((x) => x.kind === kind);
        assert.ok(a, `${kind} in ${kinds}`);
        const r = await fetch(`${srv.url}/api/assets/${a.id}`, { headers: c.headers?.() ?? { cookie: c.cookie } });
        assert.equal(r.status, 200, kind);
        const f = path.join(dir, kind);
        writeFileSync(f, Buffer.from(await r.arrayBuffer()));
        const probe = JSON.parse(spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height',
          '-of', 'json', f], { encoding: 'utf8' }).stdout);
        const v = probe.streams.find((s) => s.codec_type === 'video');
        assert.equal(`${v.width}x${v.height}`, size, kind);
        assert.equal(v.codec_name, kind.startsWith('video') ? 'h264' : 'mjpeg', kind);
        if (kind.startsWith('video')) assert.ok(probe.streams.some((s) => s.codec_type === 'audio'), `${kind} has its soundtrack`);
      }
      // the thumbnails are each variant's own picture, not copies
      const shas = new Set(item.assets.filter((a) => a.kind.startsWith('thumbnail') && a.kind !== 'thumbnail_small').map((a) => a.sha256 ?? a.id));
      assert.equal(shas.size, 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return result;
  } finally {
    await srv.stop();
  }
}

test('an ABI 2.0 renderer (no max_outputs) is called once per video and the item gets all four aspects', async () => {
  const result = await renderWith('ffmpeg_abi20', 'abi20-variants-0001');
  assert.equal(result.renderer, 'ffmpeg_abi20');
  assert.equal(result.videos, 4);
  assert.equal(result.renderer_calls, 4);
});

test('the ABI 2.1 renderer makes the same four videos in one call', async () => {
  const result = await renderWith('ffmpeg', 'abi21-variants-0001');
  assert.equal(result.renderer, 'ffmpeg');
  assert.equal(result.videos, 4);
  assert.equal(result.renderer_calls, 1);
});
