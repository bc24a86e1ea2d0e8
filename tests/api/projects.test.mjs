// Projects: the business profile (validation and normalization, field-level
// 422s with no partial writes), owner-only access on every route (another
// user's project is 404), the plan's active-project limit (read from the
// plan, not hard-coded here), onboarding state and resumption, and the
// business context loader's budget and ranking.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, psql, apiClient } from './lib/harness.mjs';

let db, srv;

before(async () => {
  db = createDatabase('projects');
  srv = await startServer({ dbUrl: db.url, env: { MOCK_MODE: 'true', CLIPLOOP_SCRYPT_LOG_N: '10', INVITE_ONLY_MODE: 'true' } });
});

after(async () => {
  if (srv) await srv.stop();
  if (db) db.drop();
});

let seq = 0;
/** A signed-up user on plan ('beta' has product access; 'free' is waitlisted). */
async function user(plan = 'beta') {
  const email = `p${++seq}_${Date.now()}@example.com`;
  const u = apiClient(srv.url);
  assert.equal((await u.signup(email)).status, 201);
  if (plan !== 'free') {
    const r = await apiClient(srv.url).post('/api/dev/approve-user', { email, plan });
    assert.equal(r.status, 200, r.text);
  }
  u.email = email;
  return u;
}

const patch = (u, path, body) => u.request('PATCH', path, body);
const del = (u, path) => u.request('DELETE', path);
const countProjects = () => Number(psql(db.url, 'SELECT count(*) FROM projects')[0][0]);

function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body.error.code, code, r.text);
  assert.ok(r.body.error.message.length > 0);
}

const fullProfile = {
  name: '  Mama Put Kitchen ', project_type: 'Business', business_name: 'Mama Put Kitchen Ltd',
  category: 'Restaurant', city: 'Lagos', state: 'Lagos State', target_audience: 'Office workers\nin Yaba',
  primary_offer: 'Jollof rice lunch packs', price_range: '₦2,500 – ₦6,000', tone: 'warm, playful',
  cta: 'Order on WhatsApp', instagram_handle: '@MamaPut.Kitchen', whatsapp_number: '+234 801 234-5678',
  website_url: 'mamaput.example', preferred_channels: ['WhatsApp', 'instagram', 'whatsapp'],
  language_style: 'Pidgin',
};

test('routes need a session and product access', async () => {
  const anon = apiClient(srv.url);
  assertError(await anon.get('/api/projects'), 401, 'unauthenticated');
  assertError(await anon.get('/api/onboarding'), 401, 'unauthenticated');
  const waitlisted = await user('free');
  assertError(await waitlisted.get('/api/projects'), 403, 'waitlisted');
  assertError(await waitlisted.post('/api/projects', { name: 'x', project_type: 'app' }), 403, 'waitlisted');
  const u = await user();
  // State-changing requests need the CSRF token.
  assertError(await u.post('/api/projects', { name: 'x', project_type: 'app' }, { csrf: false }), 403, 'csrf_failed');
});

test('create normalizes the profile and returns it; GET and the list show the same', async () => {
  const u = await user();
  const r = await u.post('/api/projects', fullProfile);
  assert.equal(r.status, 201, r.text);
  const p = r.body;
  assert.equal(p.name, 'Mama Put Kitchen');
  assert.equal(p.project_type, 'business');
  assert.equal(p.status, 'active');
  assert.equal(p.instagram_handle, 'mamaput.kitchen');
  assert.equal(p.whatsapp_number, '+2348012345678');
  assert.equal(p.website_url, 'https://mamaput.example');
  assert.deepEqual(p.preferred_channels, ['instagram', 'whatsapp']);
  assert.equal(p.language_style, 'pidgin');
  assert.equal(p.target_audience, 'Office workers\nin Yaba');
  assert.equal(p.price_range, '₦2,500 – ₦6,000');
  assert.equal(p.onboarding_step, 'basics');
  assert.equal(p.onboarded, false);
  assert.equal(p.documents_count, 0);
  const g = await u.get(`/api/projects/${p.id}`);
  assert.equal(g.status, 200);
  assert.deepEqual(g.body, p);
  const l = await u.get('/api/projects');
  assert.equal(l.status, 200);
  assert.deepEqual(l.body.projects.map((x) => x.id), [p.id]);
  assert.equal(l.body.limits.active_projects, 1);
  assert.equal(typeof l.body.limits.max_active_projects, 'number');
  const [[owner, channels]] = psql(db.url, `SELECT u.email, p.preferred_channels FROM projects p JOIN users u ON u.id = p.owner_id WHERE p.id = ${p.id}`);
  assert.equal(owner, u.email);
  assert.equal(channels, '{instagram,whatsapp}');
});

test('invalid fields are 422 with one message per field, and nothing is written', async () => {
  const u = await user();
  const before = countProjects();
  const r = await u.post('/api/projects', {
    project_type: 'shop', instagram_handle: 'bad handle!', whatsapp_number: '08012345678',
    website_url: 'ftp://files.example', preferred_channels: ['instagram', 'facebook'], language_style: 'french',
    target_audience: 42, city: 'x'.repeat(81), colour: 'red',
  });
  assertError(r, 422, 'validation_failed');
  const f = r.body.error.fields;
  assert.deepEqual(Object.keys(f).sort(), ['city', 'colour', 'instagram_handle', 'language_style', 'name',
    'preferred_channels', 'project_type', 'target_audience', 'website_url', 'whatsapp_number']);
  assert.match(f.name, /name/i);
  assert.match(f.project_type, /business, creator or app/);
  assert.match(f.instagram_handle, /Instagram handle/);
  assert.match(f.whatsapp_number, /international format/);
  assert.match(f.website_url, /http:\/\/ or https:\/\//);
  assert.match(f.preferred_channels, /instagram, tiktok and whatsapp/);
  assert.match(f.language_style, /english, pidgin or mixed/);
  assert.match(f.target_audience, /text/);
  assert.match(f.city, /80 characters/);
  assert.equal(f.colour, 'Unknown field');
  assert.equal(countProjects(), before);

  // One field per case, to pin each rule.
  const cases = [
    [{ website_url: 'https://exa mple.com' }, 'website_url'],
    [{ website_url: 'https://user:pw@example.com' }, 'website_url'],
    [{ website_url: 'https://example.com:99999/' }, 'website_url'],
    [{ website_url: 'javascript:alert(1)' }, 'website_url'],
    [{ instagram_handle: '.dotfirst' }, 'instagram_handle'],
    [{ instagram_handle: 'a'.repeat(31) }, 'instagram_handle'],
    [{ instagram_handle: 'two..dots' }, 'instagram_handle'],
    [{ whatsapp_number: '+0123456789' }, 'whatsapp_number'],
    [{ whatsapp_number: '+234-801-abc' }, 'whatsapp_number'],
    [{ whatsapp_number: '+1234567' }, 'whatsapp_number'],
    [{ preferred_channels: 'instagram' }, 'preferred_channels'],
    [{ preferred_channels: [7] }, 'preferred_channels'],
    [{ name: '   ' }, 'name'],
    [{ name: 'two\nlines' }, 'name'],
    [{ status: 'archived' }, 'status'], // not accepted on create
    [{ onboarding_step: 'nowhere' }, 'onboarding_step'],
  ];
  for (const [extra, field] of cases) {
    const c = await u.post('/api/projects', { name: 'Valid', project_type: 'app', ...extra });
    assertError(c, 422, 'validation_failed');
    assert.deepEqual(Object.keys(c.body.error.fields), [field], `${JSON.stringify(extra)} -> ${c.text}`);
  }
  assert.equal(countProjects(), before);
  // Not JSON at all: 400.
  assertError(await u.post('/api/projects', 'not json'), 400, 'invalid_json');
});

test('PATCH updates a subset; a request with any bad field changes nothing', async () => {
  const u = await user();
  const p = (await u.post('/api/projects', { name: 'Ada Bags', project_type: 'creator', city: 'Abuja' })).body;
  let r = await patch(u, `/api/projects/${p.id}`, { city: 'Kano', whatsapp_number: '002348012345678', website_url: null, tone: '' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.city, 'Kano');
  assert.equal(r.body.whatsapp_number, '+2348012345678');
  assert.equal(r.body.tone, null);
  assert.equal(r.body.name, 'Ada Bags');
  r = await patch(u, `/api/projects/${p.id}`, { city: 'Ibadan', instagram_handle: 'no spaces allowed' });
  assertError(r, 422, 'validation_failed');
  assert.deepEqual(Object.keys(r.body.error.fields), ['instagram_handle']);
  const g = await u.get(`/api/projects/${p.id}`);
  assert.equal(g.body.city, 'Kano', 'the valid field of a rejected request must not be written');
  r = await patch(u, `/api/projects/${p.id}`, { name: null });
  assertError(r, 422, 'validation_failed');
  assert.ok(r.body.error.fields.name);
});

test("every project route answers 404 for another user's project", async () => {
  const owner = await user();
  const other = await user();
  const p = (await owner.post('/api/projects', { name: 'Private', project_type: 'business', website_url: 'https://x.example' })).body;
  const id = p.id;
  // A real document of that project, so the document route is checked on an id that exists.
  const docId = psql(db.url, `INSERT INTO context_documents (project_id, url, title, body_text) VALUES (${id}, 'https://x.example/', 'Home', 'Private text') RETURNING id`)[0][0];
  assert.equal((await owner.get(`/api/projects/${id}/documents/${docId}`)).status, 200);
  const checks = [
    await other.get(`/api/projects/${id}`),
    await patch(other, `/api/projects/${id}`, { name: 'Stolen' }),
    await del(other, `/api/projects/${id}`),
    await other.post(`/api/projects/${id}/ingest`),
    await other.get(`/api/projects/${id}/ingestion`),
    await other.get(`/api/projects/${id}/documents`),
    await other.get(`/api/projects/${id}/documents/${docId}`),
    await other.get(`/api/projects/${id}/context`),
  ];
  for (const r of checks) assertError(r, 404, 'not_found');
  assert.deepEqual((await other.get('/api/projects')).body.projects, []);
  // Unchanged, and no ingestion was queued for it.
  assert.equal((await owner.get(`/api/projects/${id}`)).body.name, 'Private');
  assert.equal(psql(db.url, `SELECT count(*) FROM ingestion_runs WHERE project_id = ${id}`)[0][0], '0');
  // Ids that are not numbers are 404 too (not 400 or 500).
  for (const bad of ['abc', '1e3', '-1', '99999999999999999999']) {
    assertError(await owner.get(`/api/projects/${bad}`), 404, 'not_found');
  }
  // Missing project for its owner too.
  assertError(await owner.get('/api/projects/987654321'), 404, 'not_found');
});

test("the plan's active-project limit is enforced with a clear error; archived projects do not count", async () => {
  const u = await user('beta');
  const max = (await u.get('/api/projects')).body.limits.max_active_projects;
  assert.ok(max >= 1, 'beta has a finite project limit');
  const ids = [];
  for (let i = 0; i < max; i++) {
    const r = await u.post('/api/projects', { name: `P${i}`, project_type: 'app' });
    assert.equal(r.status, 201, r.text);
    ids.push(r.body.id);
  }
  let r = await u.post('/api/projects', { name: 'One too many', project_type: 'app' });
  assertError(r, 403, 'project_limit_reached');
  assert.match(r.body.error.message, new RegExp(`allows ${max} active project`));
  assert.match(r.body.error.message, /Archive a project or upgrade/);
  // Archive one: room for a new one; restoring the archived one is then over the limit.
  assert.equal((await patch(u, `/api/projects/${ids[0]}`, { status: 'archived' })).status, 200);
  r = await u.post('/api/projects', { name: 'Replacement', project_type: 'app' });
  assert.equal(r.status, 201, r.text);
  assertError(await patch(u, `/api/projects/${ids[0]}`, { status: 'active' }), 403, 'project_limit_reached');
  const list = (await u.get('/api/projects')).body;
  assert.equal(list.limits.active_projects, max);
  assert.equal(list.projects.at(-1).status, 'archived', 'archived projects are listed last');
  // A larger plan raises the limit (the number comes from the plan policy).
  assert.equal((await apiClient(srv.url).post('/api/dev/approve-user', { email: u.email, plan: 'starter' })).status, 200);
  const pro = (await u.get('/api/projects')).body.limits.max_active_projects;
  assert.ok(pro === -1 || pro > max);
  assert.equal((await u.post('/api/projects', { name: 'Pro project', project_type: 'app' })).status, 201);
});

test('concurrent creates cannot exceed the limit', async () => {
  const u = await user('beta');
  const max = (await u.get('/api/projects')).body.limits.max_active_projects;
  const rs = await Promise.all(Array.from({ length: max + 4 }, (_, i) => u.post('/api/projects', { name: `C${i}`, project_type: 'app' })));
  assert.equal(rs.filter((r) => r.status === 201).length, max);
  assert.equal(rs.filter((r) => r.status === 403).length, 4);
});

test('onboarding: none, then in progress at the saved step, then done once the profile is complete', async () => {
  const u = await user();
  let o = await u.get('/api/onboarding');
  assert.equal(o.status, 200);
  assert.deepEqual(o.body, { state: 'none', step: 'basics', project: null });
  const p = (await u.post('/api/projects', { name: 'Suya Spot', project_type: 'business', onboarding_step: 'business' })).body;
  o = await u.get('/api/onboarding');
  assert.equal(o.body.state, 'in_progress');
  assert.equal(o.body.step, 'business');
  assert.equal(o.body.project.id, p.id);
  // Resuming: the next step is saved with its fields.
  assert.equal((await patch(u, `/api/projects/${p.id}`, { business_name: 'Suya Spot', category: 'Food', onboarding_step: 'audience' })).status, 200);
  assert.equal((await u.get('/api/onboarding')).body.step, 'audience');
  // Finishing requires the fields generation needs.
  let r = await patch(u, `/api/projects/${p.id}`, { onboarding_step: 'done' });
  assertError(r, 422, 'validation_failed');
  assert.deepEqual(Object.keys(r.body.error.fields).sort(), ['language_style', 'preferred_channels', 'primary_offer', 'target_audience']);
  assert.equal((await u.get('/api/onboarding')).body.state, 'in_progress');
  r = await patch(u, `/api/projects/${p.id}`, {
    target_audience: 'Night-life crowd', primary_offer: 'Spicy suya by the kilo', language_style: 'mixed',
    preferred_channels: ['tiktok'], onboarding_step: 'done',
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.onboarded, true);
  assert.ok(r.body.onboarded_at);
  o = await u.get('/api/onboarding');
  assert.equal(o.body.state, 'done');
  assert.equal(o.body.project, null);
});

test('delete removes the project and its documents', async () => {
  const u = await user();
  const p = (await u.post('/api/projects', { name: 'Temp', project_type: 'app' })).body;
  psql(db.url, `INSERT INTO context_documents (project_id, url, title, body_text) VALUES (${p.id}, 'https://t.example/', 'T', 'text')`);
  const r = await del(u, `/api/projects/${p.id}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { deleted: true, id: p.id });
  assertError(await u.get(`/api/projects/${p.id}`), 404, 'not_found');
  assert.equal(psql(db.url, `SELECT count(*) FROM context_documents WHERE project_id = ${p.id}`)[0][0], '0');
});

test('ingest needs a website; documents list is empty until something is ingested', async () => {
  const u = await user();
  const p = (await u.post('/api/projects', { name: 'No site', project_type: 'creator' })).body;
  let r = await u.post(`/api/projects/${p.id}/ingest`);
  assertError(r, 422, 'validation_failed');
  assert.ok(r.body.error.fields.website_url);
  r = await u.post(`/api/projects/${p.id}/ingest`, { url: 'gopher://old.example' });
  assertError(r, 422, 'validation_failed');
  assert.ok(r.body.error.fields.url);
  r = await u.post(`/api/projects/${p.id}/ingest`, { url: 'https://ok.example', depth: 3 });
  assertError(r, 422, 'validation_failed');
  assert.equal(r.body.error.fields.depth, 'Unknown field');
  assert.deepEqual((await u.get(`/api/projects/${p.id}/documents`)).body, { documents: [] });
  assert.deepEqual((await u.get(`/api/projects/${p.id}/ingestion`)).body, { run: null });
  assert.equal(psql(db.url, `SELECT count(*) FROM ingestion_runs WHERE project_id = ${p.id}`)[0][0], '0');
});

test('the context loader returns the profile first, then the most relevant text within the budget', async () => {
  const u = await user();
  const p = (await u.post('/api/projects', { ...fullProfile, name: 'Context test' })).body;
  const long = (w) => Array.from({ length: 400 }, (_, i) => `${w} ${i}`).join(' ');
  const esc = (s) => s.replace(/'/g, "''");
  const rows = [
    [0, 'https://mamaput.example/', 'Welcome', 'Home page', long('welcome')],
    [1, 'https://mamaput.example/careers', 'Careers', 'Work with us', long('careers')],
    [2, 'https://mamaput.example/menu', 'Jollof rice lunch packs', 'Our restaurant menu', `Jollof rice lunch packs for office workers. ${long('jollof')}`],
  ];
  for (const [pos, url, title, desc, text] of rows) {
    psql(db.url, `INSERT INTO context_documents (project_id, position, url, title, description, headings, body_text)
      VALUES (${p.id}, ${pos}, '${url}', '${esc(title)}', '${esc(desc)}', '["${esc(title)}"]', '${esc(text)}')`);
  }
  // A big budget holds everything: profile first, then the page that matches
  // the profile's words (the menu), then the start page, then the rest.
  let r = await u.get(`/api/projects/${p.id}/context?budget=200000`);
  assert.equal(r.status, 200, r.text);
  assert.equal(Object.keys(r.body)[0], 'project');
  assert.equal(r.body.project.business_name, 'Mama Put Kitchen Ltd');
  assert.deepEqual(r.body.project.preferred_channels, ['instagram', 'whatsapp']);
  assert.deepEqual(r.body.documents.map((d) => d.url), ['https://mamaput.example/menu', 'https://mamaput.example/', 'https://mamaput.example/careers']);
  assert.equal(r.body.truncated, false);
  assert.equal(r.body.documents_total, 3);
  assert.equal(r.body.documents_included, 3);
  assert.equal(r.body.documents[0].text, rows[2][4]);
  assert.deepEqual(r.body.documents[0].headings, ['Jollof rice lunch packs']);
  // Smaller budgets: the output never exceeds the budget; the least relevant page goes first.
  for (const budget of [256, 1000, 3000, 6000, 9000]) {
    r = await u.get(`/api/projects/${p.id}/context?budget=${budget}`);
    assert.equal(r.status, 200);
    assert.ok(Buffer.byteLength(r.text) <= budget || r.body.documents.length === 0, `budget ${budget}: ${Buffer.byteLength(r.text)} bytes`);
    assert.equal(r.body.truncated, true);
    assert.ok(!r.body.documents.some((d) => d.url.endsWith('/careers')) || r.body.documents.length === 3);
    for (const d of r.body.documents.slice(0, -1)) assert.equal(d.truncated, false);
  }
  r = await u.get(`/api/projects/${p.id}/context?budget=9000`);
  assert.ok(r.body.documents.length >= 2);
  assert.equal(r.body.documents[0].url, 'https://mamaput.example/menu');
  assert.equal(r.body.documents[1].url, 'https://mamaput.example/');
  assert.ok(Buffer.byteLength(r.text) > 8500, 'the budget is used, not wasted');
  assertError(await u.get(`/api/projects/${p.id}/context?budget=10`), 400, 'invalid_budget');
});
