// GET /api/home: the dashboard's first screen in one answer, made of the
// read routes it replaces, each part exactly what its own route answers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, apiClient, demoProject, psql } from './lib/harness.mjs';

let db, srv;

before(async () => {
  db = createDatabase('api_home');
  srv = await startServer({ dbUrl: db.url, env: { MOCK_MODE: 'true', CLIPLOOP_WORKERS: '0' } });
});

after(async () => {
  await srv?.stop();
  db?.drop();
});

test('signed out: 401 JSON, as the routes it is made of', async () => {
  const r = await fetch(srv.url + '/api/home');
  assert.equal(r.status, 401);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.ok((await r.json()).error.code);
});

test('each part equals its own route; onboarding unfinished answers onboarding alone', async () => {
  const c = apiClient(srv.url);
  assert.equal((await c.demoLogin()).status, 200);
  let home = (await c.get('/api/home')).body;
  if (home.onboarding.state !== 'done') assert.deepEqual(Object.keys(home), ['onboarding']);
  const { userId, projectId } = await demoProject(c, db.url, { business_name: 'Mama Put Kitchen', category: 'Restaurant', city: 'Lagos',
    target_audience: 'Office workers', primary_offer: 'Party trays', timezone: 'Africa/Lagos', onboarding_step: 'done',
    website_url: 'https://mamaput.example.com' });
  for (const title of ['Friday trays', 'Suya night']) {
    const r = await c.post('/api/content-items', { project_id: projectId, channel: 'instagram', title, brief: { request: title },
      draft: { channel: 'instagram', hook: title, script: [title], caption: title, cta: 'Order now', caption_hint: '', hashtags: [], variants: {} } });
    assert.equal(r.status, 201, r.text);
  }
  const before = psql(db.url, `SELECT xmin::text FROM credit_accounts WHERE user_id = ${userId}`);
  const r = await c.get('/api/home');
  assert.equal(r.status, 200, r.text);
  home = r.body;
  assert.deepEqual(Object.keys(home).sort(), ['credits', 'cycles', 'ingestion', 'items', 'onboarding', 'plan', 'projects', 'tracking',
    'transactions', 'usage'].sort());
  const same = async (part, path) => assert.deepEqual(home[part], (await c.get(path)).body, part);
  await same('onboarding', '/api/onboarding');
  await same('projects', '/api/projects');
  await same('credits', '/api/me/credits');
  await same('plan', '/api/me/plan');
  await same('usage', '/api/me/usage');
  await same('items', '/api/content-items?limit=8');
  await same('transactions', '/api/me/transactions?limit=6');
  await same('cycles', `/api/projects/${projectId}/strategy-cycles`);
  await same('ingestion', `/api/projects/${projectId}/ingestion`);
  const ids = home.items.items.map((x) => x.id);
  assert.equal(ids.length, 2);
  await same('tracking', `/api/tracking/items?ids=${ids.join(',')}`);
  // a read route never writes
  assert.deepEqual(psql(db.url, `SELECT xmin::text FROM credit_accounts WHERE user_id = ${userId}`), before);
});
