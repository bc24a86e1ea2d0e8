// The studio's everyday read routes (GET /api/me, /api/me/credits,
// /api/projects, /api/content-items, /api/chats) write nothing: many
// requests leave the database's inserted/updated/deleted row counters where
// they were. The month's grant is still applied by a read when it is owed
// (decided from the account row the session lookup already read). The
// content list (a summary per item, its rows written by the host) and the
// chat list agree with their one-item routes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, psql, apiClient, betaUser } from './lib/harness.mjs';

const ENV = { MOCK_MODE: 'true', CLIPLOOP_SCRYPT_LOG_N: '10' };
const ROUTES = ['/api/me', '/api/me/credits', '/api/projects', '/api/content-items', '/api/chats'];
let db, srv, alice, uid, projectId;

before(async () => {
  db = createDatabase('reads');
  srv = await startServer({ dbUrl: db.url, env: ENV });
  alice = await betaUser(srv.url, 'reader@example.com');
  uid = psql(db.url, "SELECT id FROM users WHERE email = 'reader@example.com'")[0][0];
  const p = await alice.post('/api/projects', {
    name: 'Corner Bakery', project_type: 'business', business_name: 'Corner Bakery',
    preferred_channels: ['instagram'], language_style: 'english',
  });
  assert.equal(p.status, 201, p.text);
  projectId = p.body.project?.id ?? p.body.id;
  const chat = await alice.post('/api/chats', { project_id: projectId, title: 'Weekend ideas' });
  assert.equal(chat.status, 201, chat.text);
  // Two outputs, the newer with a rendered video and thumbnail (two renders' worth).
  psql(db.url, `INSERT INTO content_items (user_id, project_id, channel, title, draft, created_at)
    VALUES (${uid}, ${projectId}, 'instagram', 'Croissant Friday', '{"hook":"Warm croissants"}', now() - interval '1 hour'),
           (${uid}, ${projectId}, 'tiktok', 'Sourdough Sunday', '{"hook":"Fresh sourdough"}', now())`);
  const item = psql(db.url, `SELECT id FROM content_items WHERE title = 'Sourdough Sunday'`)[0][0];
  psql(db.url, `INSERT INTO content_assets (content_item_id, kind, path, mime, bytes, renderer, render_seq) VALUES
    (${item}, 'video', 'r/1.mp4', 'video/mp4', 1000, 'ffmpeg', 1),
    (${item}, 'thumbnail', 'r/1.jpg', 'image/jpeg', 100, 'ffmpeg', 1),
    (${item}, 'video', 'r/2.mp4', 'video/mp4', 2000, 'ffmpeg', 2),
    (${item}, 'thumbnail', 'r/2.jpg', 'image/jpeg', 200, 'ffmpeg', 2),
    (${item}, 'thumbnail_small', 'r/2s.jpg', 'image/jpeg', 20, 'ffmpeg', 2)`);
  // The older one has a render job waiting for its second attempt.
  psql(db.url, `WITH j AS (INSERT INTO jobs (kind, payload, status, attempts, progress_done, progress_total)
      VALUES ('render.content_item', '{}', 'pending', 1, 12, 450) RETURNING id)
    UPDATE content_items SET render_job_id = (SELECT id FROM j), status = 'rendering', render_seq = 1
    WHERE title = 'Croissant Friday'`);
});

after(async () => {
  if (srv) await srv.stop();
  if (db) db.drop();
});

/** A client of the current server signed in as alice (and holding her CSRF token). */
function signedIn() {
  const c = apiClient(srv.url);
  c.cookie = alice.cookie;
  c.csrf = alice.csrf;
  return c;
}

/** Rows inserted, updated and deleted in the test database so far (flushed statistics). */
function rowWrites() {
  const [[ins, upd, del]] = psql(db.url, `SELECT tup_inserted, tup_updated, tup_deleted
    FROM pg_stat_database WHERE datname = current_database()`);
  return { inserted: Number(ins), updated: Number(upd), deleted: Number(del) };
}

test('the content list shows each item as the one-item route does, as a summary with the newest render\'s thumbnails', async () => {
  const list = await alice.get('/api/content-items');
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.items.map((i) => i.title), ['Sourdough Sunday', 'Croissant Friday']);
  for (const it of list.body.items) {
    const one = await alice.get(`/api/content-items/${it.id}`);
    assert.equal(one.status, 200);
    for (const k of Object.keys(it)) {
      if (k === 'assets') continue;
      assert.deepEqual(it[k], one.body[k], k);
    }
    // The bodies stay with the item route.
    assert.equal('brief' in it, false);
    assert.equal('draft' in it, false);
    for (const a of it.assets) {
      const full = one.body.assets.find((x) => x.id === a.id);
      assert.ok(full, `asset ${a.id} is the item's`);
      for (const k of Object.keys(a)) assert.deepEqual(a[k], full[k], k);
    }
  }
  const one = (await alice.get(`/api/content-items/${list.body.items[0].id}`)).body;
  assert.deepEqual(one.assets.map((a) => [a.kind, a.render_seq, a.bytes]),
    [['thumbnail', 2, 200], ['thumbnail_small', 2, 20], ['video', 2, 2000], ['thumbnail', 1, 100], ['video', 1, 1000]]);
  assert.match(one.assets[0].created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(one.assets[2].download_url, `/api/assets/${one.assets[2].id}?download=1`);
  // The list carries the thumbnails of the newest render, what a tile shows.
  assert.deepEqual(list.body.items[0].assets.map((a) => [a.kind, a.render_seq, a.url]),
    [['thumbnail', 2, `/api/assets/${one.assets[0].id}`], ['thumbnail_small', 2, `/api/assets/${one.assets[1].id}`]]);
  assert.deepEqual(list.body.items[1].assets, []);
  assert.deepEqual(list.body.items[1].render_job, { id: list.body.items[1].render_job.id, status: 'pending',
    progress_done: 12, progress_total: 450, attempts: 1 });
  assert.equal(list.body.items[0].render_job, null);
  assert.match(list.body.items[0].created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  // The search still narrows the list, and a page is the newest items.
  const found = await alice.get('/api/content-items?q=croissant');
  assert.deepEqual(found.body.items.map((i) => i.title), ['Croissant Friday']);
  const page = await alice.get('/api/content-items?limit=1');
  assert.deepEqual(page.body.items.map((i) => [i.title, i.assets.length]), [['Sourdough Sunday', 2]]);
});

// What the studio's lists read of a project (the picker, the projects page's
// cards, the command bar, the dashboard's active project), in the order of
// the project's own route.
const PROJECT_SUMMARY = ['id', 'name', 'project_type', 'status', 'business_name', 'category', 'city', 'state',
  'website_url', 'onboarded', 'documents_count', 'updated_at'];

test("GET /api/me spells the account's creation time as cl_iso does (whole seconds, cut, UTC)", async () => {
  const carol = await betaUser(srv.url, 'created@example.com');
  psql(db.url, `UPDATE users SET created_at = '2026-03-04 05:06:07.999999+00' WHERE email = 'created@example.com'`);
  const me = await carol.get('/api/me');
  assert.equal(me.status, 200, me.text);
  const user = me.body.user ?? me.body;
  assert.equal(user.created_at, '2026-03-04T05:06:07Z');
  assert.equal(user.created_at, psql(db.url, `SELECT cl_iso(created_at) FROM users WHERE email = 'created@example.com'`)[0][0]);
});

test('the project list shows each project as a summary of its own route, written by the host', async () => {
  // A second project, archived and onboarded, with quotes in its text and no channels.
  psql(db.url, `INSERT INTO projects (owner_id, name, project_type, status, city, preferred_channels, onboarding_step, onboarded_at)
    VALUES (${uid}, 'Say "hi" \\ Zoë', 'creator', 'archived', NULL, '{}', 'done', now() - interval '3 days')`);
  const list = await alice.get('/api/projects');
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.projects.map((p) => p.status), ['active', 'archived']);
  assert.equal(list.body.limits.active_projects, 1);
  for (const p of list.body.projects) {
    const one = await alice.get(`/api/projects/${p.id}`);
    assert.equal(one.status, 200, one.text);
    const full = one.body.project ?? one.body;
    assert.deepEqual(Object.keys(p), PROJECT_SUMMARY);
    assert.deepEqual(p, Object.fromEntries(PROJECT_SUMMARY.map((k) => [k, full[k]])));
  }
  const [active, archived] = list.body.projects;
  assert.equal(archived.name, 'Say "hi" \\ Zoë');
  assert.equal(archived.onboarded, true);
  assert.equal(archived.city, null);
  assert.match(archived.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/);
  // The documents a website reading stored are counted.
  psql(db.url, `INSERT INTO context_documents (project_id, url, title, body_text)
    VALUES (${active.id}, 'https://bakery.example/a', 'A', 'About us'), (${active.id}, 'https://bakery.example/b', 'B', 'Menu')`);
  const counted = (await alice.get('/api/projects')).body.projects.find((p) => p.id === active.id);
  assert.equal(counted.documents_count, active.documents_count + 2);
  psql(db.url, `DELETE FROM context_documents WHERE project_id = ${active.id} AND url LIKE 'https://bakery.example/_'`);
  psql(db.url, `DELETE FROM projects WHERE owner_id = ${uid} AND status = 'archived'`);
});

test('the chat list shows each conversation as its own route does, quotes and all', async () => {
  const chat = await alice.post('/api/chats', { project_id: projectId, title: 'Say "hi" \\ to Zoë\n' });
  assert.equal(chat.status, 201, chat.text);
  const list = await alice.get('/api/chats?limit=10');
  assert.equal(list.status, 200, list.text);
  assert.equal(list.body.q, '');
  assert.ok(list.body.chats.length >= 2);
  for (const c of list.body.chats) {
    const one = await alice.get(`/api/chats/${c.id}`);
    assert.equal(one.status, 200, one.text);
    const mine = one.body.chat ?? one.body.conversation ?? one.body;
    for (const k of Object.keys(c)) assert.deepEqual(c[k], mine[k], k);
  }
  assert.ok(list.body.chats.some((c) => c.title.includes('"hi" \\ to Zoë')), JSON.stringify(list.body.chats));
  const found = await alice.get('/api/chats?q=' + encodeURIComponent('"hi"'));
  assert.equal(found.body.q, '"hi"');
  assert.equal(found.body.chats.length, 1);
});

test('the studio read routes write no row, however often they are called', async () => {
  for (const r of ROUTES) assert.equal((await alice.get(r)).status, 200, r); // the first read applies the month's grant
  // Statistics reach pg_stat_database when a backend exits: stop the server
  // to flush them, measure, start it again on the same database.
  await srv.stop();
  const before = rowWrites();
  srv = await startServer({ dbUrl: db.url, env: ENV, migrate: false });
  const again = signedIn();
  for (let i = 0; i < 20; i++) {
    for (const r of ROUTES) {
      const res = await again.get(r);
      assert.equal(res.status, 200, `${r}: ${res.text}`);
    }
  }
  const credits = await again.get('/api/me/credits');
  assert.ok(credits.body.generation.balance > 0, 'the balance comes with the session lookup');
  await srv.stop();
  const afterReads = rowWrites();
  assert.deepEqual(afterReads, before, '101 GETs of the read routes wrote rows');
  // The measurement sees writes: one POST moves the counters.
  srv = await startServer({ dbUrl: db.url, env: ENV, migrate: false });
  const writer = signedIn();
  assert.equal((await writer.post('/api/chats', { project_id: projectId, title: 'Control' })).status, 201);
  await srv.stop();
  assert.ok(rowWrites().inserted > afterReads.inserted, 'a POST was not counted');
  srv = await startServer({ dbUrl: db.url, env: ENV, migrate: false });
});

test('a read still applies the month\'s grant when the account row shows it is owed', async () => {
  // An account whose last grant was last month's (its session made directly, as if signed in then).
  const token = 'ab'.repeat(32);
  const [[bob]] = psql(db.url, `WITH u AS (INSERT INTO users (email, beta_approved) VALUES ('lastmonth@example.com', true) RETURNING id),
      a AS (INSERT INTO credit_accounts (user_id, granted_month, granted_generation, granted_render)
            SELECT id, (date_trunc('month', now()) - interval '1 month')::date, 1000, 1000 FROM u),
      s AS (INSERT INTO sessions (user_id, token_hash, csrf_token, expires_at)
            SELECT id, encode(sha256('${token}'::bytea), 'hex'), 'csrf', now() + interval '1 hour' FROM u)
    SELECT id FROM u`);
  const me = apiClient(srv.url);
  me.cookie = `cliploop_session=${token}`;
  const r = await me.get('/api/me/credits');
  assert.equal(r.status, 200, r.text);
  const month = psql(db.url, "SELECT date_trunc('month', now())::date::text")[0][0];
  assert.equal(r.body.granted_month, month);
  assert.ok(r.body.generation.monthly_grant > 0);
  assert.equal(r.body.generation.balance, r.body.generation.monthly_grant);
  assert.equal(r.body.render.balance, r.body.render.monthly_grant);
  const [[gen, ren]] = psql(db.url, `SELECT generation_balance, render_balance FROM credit_accounts WHERE user_id = ${bob}`);
  assert.deepEqual([Number(gen), Number(ren)], [r.body.generation.balance, r.body.render.balance]);
  // Applied once: the next reads find it in and write nothing more.
  const entries = psql(db.url, `SELECT count(*) FROM credit_ledger_entries WHERE user_id = ${bob}`)[0][0];
  assert.equal(entries, '2');
  assert.equal((await me.get('/api/me')).status, 200);
  assert.equal((await me.get('/api/me/credits')).body.generation.balance, r.body.generation.balance);
  assert.equal(psql(db.url, `SELECT count(*) FROM credit_ledger_entries WHERE user_id = ${bob}`)[0][0], entries);
});

test('GET /api/home: its parts equal their own routes, and the session it resolved once is not kept past the request', async () => {
  const me = signedIn();
  psql(db.url, `UPDATE projects SET onboarding_step = 'done', onboarded_at = now() WHERE owner_id = ${uid}`);
  const home = await me.get('/api/home');
  assert.equal(home.status, 200, home.text);
  for (const [key, route] of [['projects', '/api/projects'], ['credits', '/api/me/credits'], ['plan', '/api/me/plan'],
    ['items', '/api/content-items?limit=8']]) {
    assert.deepEqual(home.body[key], (await me.get(route)).body, key);
  }
  // Signed out between two requests: the next one is refused, part by part.
  psql(db.url, `UPDATE sessions SET revoked_at = now() WHERE user_id = ${uid}`);
  const after = await me.get('/api/home');
  assert.equal(after.status, 401, after.text);
  assert.equal((await me.get('/api/me')).status, 401);
});
