// Bad input never gets a 5xx: invalid UTF-8 is refused once at the boundary
// (JSON bodies, decoded query and path values) with 400 naming the field;
// long query values are cut at a character boundary; ids are parsed by one
// parser that refuses anything but a positive integer in range; path
// parameters are percent-decoded once; POST /api/content-items stores only
// the validated draft.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promoDraft } from './lib/drafts.mjs';
import { createDatabase, startServer, apiClient, psql, demoProject } from './lib/harness.mjs';

let db, srv, c, projectId;

const DRAFT = promoDraft({
  hook: 'Fresh bread at dawn', beats: ['The oven opens', 'Warm loaves on the rack', 'Order before 8'],
  caption: 'Fresh bread every morning at Dele Bakery.', cta: 'Order now',
  variant: { instagram: { caption: 'Fresh bread every morning', cta: 'Tap to order' } },
  caption_hint: 'warm', hashtags: ['#bread'],
});

/** POST raw bytes as JSON with the session's cookie and CSRF token. */
async function postRaw(path, bytes) {
  const r = await fetch(srv.url + path, {
    method: 'POST', body: bytes,
    headers: { 'content-type': 'application/json', cookie: c.cookie, 'x-csrf-token': c.csrf },
  });
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, body, text };
}
/** JSON text with one invalid byte (0xFF) where "@@" stands. */
const withBadByte = (json) => {
  const [a, b] = json.split('@@');
  return Buffer.concat([Buffer.from(a), Buffer.from([0xff]), Buffer.from(b)]);
};

before(async () => {
  db = createDatabase('input');
  srv = await startServer({ dbUrl: db.url, env: { MOCK_MODE: 'true', CLIPLOOP_TEST_ROUTES: 'true' } });
  c = apiClient(srv.url);
  ({ projectId } = await demoProject(c, db.url, {
    business_name: 'Dele Bakery', category: 'Bakery', city: 'Ibadan', target_audience: 'Early commuters',
    primary_offer: 'Fresh bread',
  }));
});

after(async () => {
  if (srv) await srv.stop();
  if (db) db.drop();
});

test('invalid UTF-8 in JSON bodies is a 400 naming the field, never a 500', async () => {
  const cases = [
    ['/api/chats', `{"project_id":${projectId},"title":"caf@@"}`, 'title'],
    ['/api/content-items', JSON.stringify({ project_id: projectId, channel: 'instagram', draft: { ...DRAFT, hook: '@@' } }), 'draft.hook'],
    ['/api/content-items', JSON.stringify({ project_id: projectId, channel: 'instagram', draft: { ...DRAFT, script: ['a', '@@'] } }), 'draft.script[1]'],
    ['/api/access/request', '{"email":"x@example.com","name":"Ad@@e"}', 'name'],
    ['/api/dev/approve-user', '{"email":"x@@@example.com"}', 'email'],
  ];
  for (const [path, json, field] of cases) {
    const r = await postRaw(path, withBadByte(json));
    assert.equal(r.status, 400, `${path}: ${r.text}`);
    assert.equal(r.body.error.code, 'invalid_utf8');
    assert.ok(r.body.error.fields[field], `${path}: ${JSON.stringify(r.body)}`);
  }
  const chat = (await c.post('/api/chats', { project_id: projectId })).body.id;
  const m = await postRaw(`/api/chats/${chat}/messages`, withBadByte('{"mode":"chat","content":"hi @@","request_id":"req-utf8-0001"}'));
  assert.equal(m.status, 400, m.text);
  assert.ok(m.body.error.fields.content);
  // Sign-up needs no session.
  const s = await fetch(srv.url + '/api/auth/signup', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: withBadByte('{"email":"b@@@example.com","password":"password123"}') });
  assert.equal(s.status, 400);
  assert.ok((await s.json()).error.fields.email);
  // Valid multi-byte text is fine.
  const ok = await c.post('/api/chats', { project_id: projectId, title: 'Café 🍞 Ìbàdàn' });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal(ok.body.title, 'Café 🍞 Ìbàdàn');
});

test('query and path values: invalid UTF-8 is a 400; long values are cut between characters', async () => {
  let r = await c.get('/api/chats?q=%FF');
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error.code, 'invalid_utf8');
  assert.ok(r.body.error.fields.q);
  r = await c.get('/api/chats?q=%C0%AF'); // an overlong '/'
  assert.equal(r.status, 400, r.text);
  r = await c.get('/api/_test/echo/%ED%A0%80/x'); // a UTF-16 surrogate
  assert.equal(r.status, 400, r.text);
  assert.ok(r.body.error.fields.a);
  // 300 bytes of "é": the search text is cut at 255 bytes, which falls inside a character.
  r = await c.get('/api/chats?q=' + encodeURIComponent('é'.repeat(150)));
  assert.equal(r.status, 200, r.text);
  assert.ok(Array.isArray(r.body.chats ?? r.body.items ?? r.body), r.text);
});

test('path parameters are percent-decoded once', async () => {
  const r = await c.get('/api/_test/echo/%2531/a%2Fb');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.params, { a: '%31', b: 'a/b' });
  // A project id written as %31 is "1"; written as %2531 it is "%31", not an id.
  const pid = String(projectId).split('').map((d) => '%' + d.charCodeAt(0).toString(16)).join('');
  assert.equal((await c.get(`/api/projects/${pid}`)).status, 200);
  assert.equal((await c.get(`/api/projects/%25${String(projectId).charCodeAt(0).toString(16)}${String(projectId).slice(1)}`)).status, 404);
});

test('ids out of range or not whole numbers are refused with 422/404, never a 500', async () => {
  for (const raw of ['1e19', '1e999', '18446744073709551616', '9007199254740993', '1.5', '-3', '0', '"12"']) {
    for (const path of ['/api/chats', '/api/create/brief', '/api/create/generate', '/api/content-items']) {
      const r = await postRaw(path, Buffer.from(`{"project_id":${raw},"prompt":"Fresh bread promo","brief":{},"request_id":"req-ids-00001","channel":"instagram","draft":${JSON.stringify(DRAFT)}}`));
      assert.equal(r.status, 422, `${path} project_id=${raw}: ${r.text}`);
      assert.ok(r.body.error.fields.project_id, `${path} ${raw}: ${r.text}`);
    }
  }
  for (const q of ['before=1e3', 'before=-1', 'before=99999999999999999999', 'before=1.0']) {
    const r = await c.get('/api/me/transactions?' + q);
    assert.equal(r.status, 422, `${q}: ${r.text}`);
  }
  assert.equal((await c.get('/api/me/transactions?before=9223372036854775807')).status, 200);
  for (const id of ['99999999999999999999', '9223372036854775808', '1e3', '-1', '0', '01x']) {
    assert.equal((await c.get(`/api/projects/${id}`)).status, 404, id);
    assert.equal((await c.get(`/api/content-items/${id}`)).status, 404, id);
  }
  assert.equal((await c.get('/api/chats?project_id=99999999999999999999')).status, 400);
});

test('POST /api/content-items stores only the validated draft', async () => {
  const r = await c.post('/api/content-items', {
    project_id: projectId, channel: 'instagram',
    draft: { ...DRAFT, evil: '<script>x</script>', variants: { instagram: { caption: 'Hi', cta: 'Go', extra: 1 } } },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.id ?? r.body.item?.id;
  const stored = JSON.parse(psql(db.url, `SELECT draft::text FROM content_items WHERE id = ${id}`)[0][0]);
  assert.equal(stored.evil, undefined);
  assert.equal(stored.variants.instagram.extra, undefined);
  assert.equal(stored.hook, DRAFT.hook);
});

test('the access log escapes control characters in the path (no forged lines)', async () => {
  await fetch(srv.url + '/api/forge%0aFORGEDLINE%20GET%20/api/admin%20200%0d%1b[31m');
  await fetch(srv.url + '/static/forge%0AFORGEDLINE2');
  const end = Date.now() + 5000;
  while (!/FORGEDLINE2/.test(srv.proc.log) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const lines = srv.proc.log.split('\n');
  assert.equal(lines.filter((l) => /^FORGEDLINE/.test(l)).length, 0, srv.proc.log.slice(-2000));
  assert.ok(lines.some((l) => l.includes('/api/forge\\x0aFORGEDLINE GET /api/admin 200\\x0d\\x1b[31m')), srv.proc.log.slice(-2000));
  assert.ok(lines.some((l) => l.includes('/static/forge\\x0aFORGEDLINE2')));
});
