// POST /api/create/brief: rough prompt + project -> an editable brief, with
// the channel's Lua rules applied; editing a channel rule file while the host
// runs changes the next brief without a restart. Provider errors are clear.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, createDatabase, startServer, apiClient } from './lib/harness.mjs';
import { startLlmFake } from '../fakes/llm_fake.mjs';

let db, srv, scripts, client, projectId;

before(async () => {
  db = createDatabase('brief');
  // A private copy of the Lua scripts, so the test can edit a rule file.
  scripts = mkdtempSync(path.join(tmpdir(), 'cliploop-scripts-'));
  cpSync(path.join(ROOT, 'scripts', 'prompts'), path.join(scripts, 'prompts'), { recursive: true });
  cpSync(path.join(ROOT, 'scripts', 'channels'), path.join(scripts, 'channels'), { recursive: true });
  cpSync(path.join(ROOT, 'scripts', 'lib'), path.join(scripts, 'lib'), { recursive: true, filter: (f) => !f.endsWith('.sh') });
  srv = await startServer({ dbUrl: db.url, env: { MOCK_MODE: 'true', CLIPLOOP_SCRIPTS_DIR: scripts } });
  client = apiClient(srv.url);
  assert.equal((await client.demoLogin()).status, 200);
  const p = await client.post('/api/projects', {
    name: 'Glow Salon', project_type: 'business', business_name: 'Glow Salon', category: 'Beauty',
    city: 'Abuja', target_audience: 'Young professionals', primary_offer: 'Braids and nails',
    preferred_channels: ['instagram', 'tiktok'], language_style: 'english',
  });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  projectId = p.body.project?.id ?? p.body.id;
});

after(async () => {
  if (srv) await srv.stop();
  if (db) db.drop();
  if (scripts) rmSync(scripts, { recursive: true, force: true });
});

test('a rough prompt becomes a complete brief; the request names the channel', async () => {
  const r = await client.post('/api/create/brief', { project_id: projectId, prompt: 'WhatsApp promo for our weekend braids sale' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const b = r.body.brief;
  for (const k of ['title', 'channel', 'tone', 'duration_seconds', 'style', 'cta', 'caption_hint']) {
    assert.ok(b[k] !== undefined && b[k] !== '', `brief.${k} missing: ${JSON.stringify(b)}`);
  }
  assert.equal(b.channel, 'whatsapp');
  // Same input, same brief (the mock provider is deterministic).
  const again = await client.post('/api/create/brief', { project_id: projectId, prompt: 'WhatsApp promo for our weekend braids sale' });
  assert.deepEqual(again.body.brief.title, b.title);
  // An explicit channel wins.
  const tk = await client.post('/api/create/brief', { project_id: projectId, prompt: 'Weekend braids sale', channel: 'tiktok' });
  assert.equal(tk.body.brief.channel, 'tiktok');
});

test('editing a channel rule file changes the next brief without a restart', async () => {
  const ask = async () => (await client.post('/api/create/brief', { project_id: projectId, prompt: 'Nails promo', channel: 'tiktok' })).body.brief;
  const before = await ask();
  assert.ok(before.duration_seconds >= 7, JSON.stringify(before));
  const file = path.join(scripts, 'channels', 'tiktok.lua');
  const text = readFileSync(file, 'utf8');
  const edited = text.replace(/duration\s*=\s*\{[^}]*\}/, 'duration = { default = 5, min = 5, max = 6 }');
  assert.notEqual(edited, text);
  writeFileSync(file, edited);
  const later = new Date(Date.now() + 2000);
  utimesSync(file, later, later);
  const after = await ask();
  assert.ok(after.duration_seconds >= 5 && after.duration_seconds <= 6, JSON.stringify(after));
  // A broken edit keeps the last good rules and the host keeps answering.
  writeFileSync(file, edited + '\nthis is not lua = = =\n');
  const later2 = new Date(Date.now() + 4000);
  utimesSync(file, later2, later2);
  const still = await ask();
  assert.ok(still.duration_seconds >= 5 && still.duration_seconds <= 6, JSON.stringify(still));
});

test('editing a channel rule file changes the next draft without a restart', async () => {
  const file = path.join(scripts, 'channels', 'instagram.lua');
  const text = readFileSync(file, 'utf8');
  const brief = (await client.post('/api/create/brief', { project_id: projectId, prompt: 'Braids promo', channel: 'instagram' })).body.brief;
  const draftOf = async (tag) => {
    const r = await client.post('/api/create/generate', { project_id: projectId, brief, channel: 'instagram', render: false, request_id: `req-reload-${tag}-${process.pid}` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return (await client.get(`/api/content-items/${r.body.content_item_id}`)).body.draft;
  };
  const before = await draftOf('a');
  assert.ok([...before.caption].length > 30, `the mock caption is long enough to be cut: ${before.caption}`);
  try {
    const edited = text.replace(/max_chars\s*=\s*\d+/, 'max_chars = 30');
    assert.notEqual(edited, text);
    writeFileSync(file, edited);
    const later = new Date(Date.now() + 8000);
    utimesSync(file, later, later);
    const after = await draftOf('b');
    assert.ok([...after.caption].length <= 30, `caption not cut to the new rule: ${after.caption}`);
    assert.ok(after.adjustments.some((a) => /caption/.test(a)), JSON.stringify(after.adjustments));
  } finally {
    writeFileSync(file, text);
    const later = new Date(Date.now() + 10000);
    utimesSync(file, later, later);
  }
});

test('validation, ownership and provider errors', async () => {
  let r = await client.post('/api/create/brief', { project_id: projectId, prompt: '' });
  assert.equal(r.status, 422);
  assert.ok(r.body.error.fields.prompt);
  r = await client.post('/api/create/brief', { project_id: projectId, prompt: 'Sale', channel: 'fax' });
  assert.equal(r.status, 422);
  assert.ok(r.body.error.fields.channel);
  const other = apiClient(srv.url);
  await other.signup('other@example.com');
  await other.post('/api/dev/approve-user', { email: 'other@example.com', plan: 'beta' });
  r = await other.post('/api/create/brief', { project_id: projectId, prompt: 'Steal this brief' });
  assert.equal(r.status, 404);
  r = await apiClient(srv.url).post('/api/create/brief', { project_id: projectId, prompt: 'No session' });
  assert.equal(r.status, 401);

  // A provider that fails says so; it never silently falls back.
  const failing = await startServer({ dbUrl: db.url, migrate: false, env: { MOCK_MODE: 'true', LLM_MOCK_FAIL: 'rate_limit', CLIPLOOP_SCRIPTS_DIR: scripts } });
  try {
    const c = apiClient(failing.url);
    await c.demoLogin();
    r = await c.post('/api/create/brief', { project_id: projectId, prompt: 'Braids promo' });
    assert.equal(r.status, 429, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'llm_rate_limited');
  } finally {
    await failing.stop();
  }

  // A real provider plugin whose answers are never usable: malformed output is
  // its own error, after the bounded retries, never a silent fallback.
  const fake = await startLlmFake();
  const garbled = await startServer({
    dbUrl: db.url, migrate: false,
    env: { MOCK_MODE: 'true', LLM_PROVIDER: 'openai_compat', OPENAI_COMPAT_BASE_URL: fake.baseUrl,
      OPENAI_COMPAT_MODEL: 'fake-malformed', CLIPLOOP_HTTP_ALLOW_LOOPBACK: 'true', CLIPLOOP_SCRIPTS_DIR: scripts },
  });
  try {
    const c = apiClient(garbled.url);
    await c.demoLogin();
    r = await c.post('/api/create/brief', { project_id: projectId, prompt: 'Braids promo' });
    assert.equal(r.status, 502, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'llm_malformed_output');
    assert.equal(fake.requests.length, 3);
  } finally {
    await garbled.stop();
    await fake.close();
  }
});

test('GET /api/scripts lists every prompt and channel script with its status', async () => {
  const file = path.join(scripts, 'channels', 'whatsapp.lua');
  const good = readFileSync(file, 'utf8');
  const r = await client.get('/api/scripts');
  assert.equal(r.status, 200);
  const names = r.body.scripts.map((s) => s.name).sort();
  for (const n of ['prompts/brief', 'prompts/promo_draft', 'prompts/chat', 'channels/instagram', 'channels/tiktok', 'channels/whatsapp']) {
    assert.ok(names.includes(n), `${n} missing from ${names}`);
  }
  assert.ok(r.body.scripts.every((s) => s.path === undefined), 'file paths stay on the server');
  const wa = r.body.scripts.find((s) => s.name === 'channels/whatsapp');
  assert.equal(wa.loaded, true);
  assert.equal(wa.last_error, null);
  // A broken edit shows up with its error while the previous version stays loaded.
  writeFileSync(file, 'return {{{');
  const later = new Date(Date.now() + 6000);
  utimesSync(file, later, later);
  try {
    const r2 = await client.get('/api/scripts');
    const wa2 = r2.body.scripts.find((s) => s.name === 'channels/whatsapp');
    assert.equal(wa2.loaded, true);
    assert.match(wa2.last_error, /whatsapp\.lua/);
  } finally {
    writeFileSync(file, good);
  }
  assert.equal((await apiClient(srv.url).get('/api/scripts')).status, 401);
  // A waitlisted account does not see the server's internals.
  const waiting = apiClient(srv.url);
  assert.equal((await waiting.signup('waiting@example.com')).status, 201);
  const w = await waiting.get('/api/scripts');
  assert.equal(w.status, 403);
  assert.equal(w.body.error.code, 'waitlisted');
});
