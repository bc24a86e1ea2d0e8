// Views from the publisher's insights (ABI 1.3, optional): a worker's
// scheduler asks the Instagram plugin — against the fake Graph API — for the
// views and reach of posts it published, stores them as the items' views
// (source 'insights'), and the next rollup computes their CTR. A post
// published by the mock publisher (no insights call) keeps unknown views,
// and views the owner entered by hand are never overwritten.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, psql, startProcess } from './lib/harness.mjs';
import { startInstagramFake } from '../fakes/instagram_fake.mjs';
import { startPublishingServer, userWithProject, connectInstagram, waitFor } from './lib/publishing.mjs';

let db, srv, fake, storage, worker;

before(async () => {
  db = createDatabase('insights');
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-insights-'));
  fake = await startInstagramFake();
  srv = await startPublishingServer({ db, fake, storage });
});

after(async () => {
  if (worker) await worker.stop();
  if (srv) await srv.stop();
  if (fake) await fake.close();
  if (db) db.drop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

test('insights: views and reach of a published Reel become its views; CTR follows; mock and manual untouched', async () => {
  const { c, projectId } = await userWithProject(srv, 'insights@example.com');
  const { done } = await connectInstagram(srv, c, projectId);
  assert.ok(done.status < 400, `connect: ${done.status}`);
  const y = await c.post(`/api/projects/${projectId}/strategy-cycles`, {});
  const cycleId = y.body.cycle.id;
  const [[uid]] = psql(db.url, "SELECT id FROM users WHERE email = 'insights@example.com'");
  const mk = (pos, publisher, media, strategy = 'direct_instagram') => Number(psql(db.url, `INSERT INTO content_items
    (user_id, project_id, cycle_id, position, channel, draft, status, publish_strategy, publish_status, published_at,
     publisher, remote_media_id) VALUES (${uid}, ${projectId}, ${cycleId}, ${pos}, 'instagram', '{"hook":"h"}', 'rendered',
     '${strategy}', 'published', now(), ${publisher ? `'${publisher}'` : 'NULL'}, ${media ? `'${media}'` : 'NULL'}) RETURNING id`)[0][0]);
  fake.state.media.set('17900000000000001', { container: null, permalink: 'https://www.instagram.com/reel/Cx1/', views: 250, reach: 180 });
  const ig = mk(1, 'instagram', '17900000000000001');
  const mock = mk(2, 'mock', 'mock-media-1');
  const manual = mk(3, null, null, 'manual_export');
  assert.equal((await c.request('PUT', `/api/content-items/${manual}/views`, { views: 40 })).status, 200);
  psql(db.url, `INSERT INTO tracking_clicks (click_id, content_item_id, project_id, clicked_at)
    SELECT md5(random()::text), ${ig}, ${projectId}, now() FROM generate_series(1, 5)`);

  worker = startProcess(['worker'], { ...srv.env, CLIPLOOP_SCHEDULER_TICK_MS: '100', CLIPLOOP_ROLLUP_INTERVAL_MS: '100' });
  await worker.waitForLog(/scheduler running/);
  const row = await waitFor(() => {
    const r = psql(db.url, `SELECT views, reach, source FROM content_item_views WHERE content_item_id = ${ig}`);
    return r.length ? r[0] : null;
  }, 'insights stored', 20000, 100);
  assert.deepEqual(row, ['250', '180', 'insights']);
  assert.ok(fake.state.requests.some((q) => q.op === 'insights' && q.path === '/17900000000000001/insights'));
  assert.equal(psql(db.url, `SELECT count(*) FROM content_item_views WHERE content_item_id = ${mock}`)[0][0], '0',
    'the mock publisher has no insights: views stay unknown');
  assert.deepEqual(psql(db.url, `SELECT views, source FROM content_item_views WHERE content_item_id = ${manual}`), [['40', 'manual']]);

  const r = await c.post(`/api/strategy-cycles/${cycleId}/rollup`);
  const it = r.body.items.find((i) => i.id === ig);
  assert.equal(it.views, 250);
  assert.equal(it.views_source, 'insights');
  assert.ok(Math.abs(it.ctr - 5 / 250) < 1e-9);
  assert.equal(r.body.items.find((i) => i.id === mock).ctr, null);
  // fresh views are not asked again within 6 hours
  const asked = fake.state.requests.filter((q) => q.op === 'insights').length;
  await new Promise((res) => setTimeout(res, 600));
  assert.equal(fake.state.requests.filter((q) => q.op === 'insights').length, asked);
});
