// Publishing in a real browser, against the fake Instagram API: the demo
// user connects Instagram from the project page (the full OAuth round trip
// through the fake's authorization page), an approved item is scheduled and
// the project page follows it to `published` with a link to the post; then,
// at phone size, the manual queue filters, previews, exports a ZIP (checked
// with unzip) and marks an item posted. Screenshots of each page at desktop
// and phone size land in tests/e2e/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, psql } from '../api/lib/harness.mjs';
import { startPublishingServer, DRAFT, PROJECT } from '../api/lib/publishing.mjs';
import { startInstagramFake } from '../fakes/instagram_fake.mjs';
import { launch, screenshot, problems, demoContext, RENDER_WAIT_MS } from './lib/browser.mjs';

let db, srv, fake, storage, browser;
// A <video> cancels its first download once it has the metadata and goes on with range requests.
const MEDIA = [/GET \S+\/api\/assets\/\d+ net::ERR_ABORTED$/,
  // The JSON page the API calls run from (/api/version) makes the browser ask for /favicon.ico.
  /favicon\.ico/];

before(async () => {
  db = createDatabase('e2e_publish');
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-e2e-publish-'));
  fake = await startInstagramFake();
  srv = await startPublishingServer({
    db, fake, storage,
    env: { CLIPLOOP_WORKERS: '1', CLIPLOOP_SCHEDULER_TICK_MS: '200', CLIPLOOP_PUBLISH_POLL_MS: '50' },
  });
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
  if (fake) await fake.close();
  if (db) db.drop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

/** Call the API from the page (same cookies, the CSRF token from /api/me). */
async function call(page, method, p, body) {
  return page.evaluate(async ([m, u, b]) => {
    const me = await (await fetch('/api/me')).json();
    const r = await fetch(u, { method: m, headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token }, body: b ? JSON.stringify(b) : undefined });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, [method, p, body]);
}

/** A rendered item of the project on channel (rendered by the worker). */
async function renderedItem(page, projectId, channel, title) {
  const r = await call(page, 'POST', '/api/content-items', { project_id: projectId, channel, draft: DRAFT, title });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal((await call(page, 'POST', `/api/content-items/${r.body.id}/render`, {})).status, 202);
  const end = Date.now() + RENDER_WAIT_MS;
  for (;;) {
    const it = (await call(page, 'GET', `/api/content-items/${r.body.id}`)).body;
    if (it.status === 'rendered') return it;
    if (it.status === 'render_failed' || Date.now() > end) throw new Error(`render: ${JSON.stringify(it)}`);
    await new Promise((res) => setTimeout(res, 300));
  }
}

async function settled(page) {
  await page.waitForFunction(() => document.body.dataset.ready === '1'
    && ![...document.querySelectorAll('[aria-busy="true"]')].some((el) => el.offsetParent !== null)
    && !/Loading/.test(document.getElementById('view')?.innerText || ''), null, { timeout: 15000 });
}

test('connect Instagram against the fake, schedule, watch the item reach published', async () => {
  const page = await demoContext(browser, srv.url);
  await page.goto(srv.url + '/api/version'); // a same-origin page that never redirects, for the API calls
  const project = await call(page, 'POST', '/api/projects', PROJECT);
  assert.equal(project.status, 201, JSON.stringify(project.body));
  const pid = project.body.project?.id ?? project.body.id;

  await page.goto(`${srv.url}/app/projects/${pid}`);
  await settled(page);
  await page.waitForSelector('[data-channel-status]');
  assert.match(await page.locator('[data-channel-status]').textContent(), /Not connected/);
  await screenshot(page, 'publishing-project-not-connected');
  // The whole OAuth round trip in the browser: ClipLoop → the fake's authorize page → the callback → back.
  await page.getByRole('link', { name: 'Connect Instagram' }).click();
  await page.waitForURL(new RegExp(`/app/projects/${pid}(\\?channel=connected)?(#_)?$`));
  await page.waitForSelector('text=Instagram is connected.');
  assert.equal(new URL(page.url()).search, '', 'the one-time notice is not kept in the address');
  assert.match(await page.locator('[data-channel-status]').textContent(), /Connected/);
  assert.match(await page.locator('[data-channels]').innerText(), /@mamaputkitchen/);
  assert.deepEqual(psql(db.url, `SELECT status, username FROM channel_connections WHERE project_id = ${pid}`)[0], ['active', 'mamaputkitchen']);

  // An Instagram item, direct publishing: approve, schedule, then it falls due.
  const item = await renderedItem(page, pid, 'instagram', 'Weekend jollof Reel');
  // Items are created for the manual queue; this one is for direct publishing.
  psql(db.url, `UPDATE content_items SET publish_strategy = 'direct_instagram' WHERE id = ${item.id}`);
  let r;
  assert.equal((await call(page, 'POST', `/api/content-items/${item.id}/approve`, {})).status, 200);
  const at = new Date(Date.now() + 3600000).toISOString().slice(0, 16);
  r = await call(page, 'POST', `/api/content-items/${item.id}/schedule`, { at });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  psql(db.url, `UPDATE content_items SET scheduled_at = now() + interval '3 seconds' WHERE id = ${item.id}`);
  await page.reload();
  await settled(page);
  const row = page.locator(`[data-post="${item.id}"]`);
  await row.waitFor();
  // The page follows it by itself: scheduled → publishing → published, with the post's link.
  await page.waitForFunction((id) => /Published/.test(document.querySelector(`[data-post="${id}"] [data-post-status]`)?.textContent || ''),
    item.id, { timeout: RENDER_WAIT_MS });
  const link = await row.getByRole('link', { name: 'View post' }).getAttribute('href');
  assert.match(link, /^https:\/\/www\.instagram\.com\/reel\/C[0-9a-f]{10}\/$/);
  const containers = [...fake.state.containers.values()];
  assert.equal(containers.length, 1);
  assert.equal(containers[0].publishes, 1);
  assert.ok(containers[0].fetched, 'the fake downloaded the video from the public URL');
  await screenshot(page, 'publishing-project-published');
  const phone = await demoContext(browser, srv.url, { mobile: true });
  await phone.goto(`${srv.url}/app/projects/${pid}`);
  await settled(phone);
  await phone.locator(`[data-post="${item.id}"]`).waitFor();
  await screenshot(phone, 'publishing-project-published-phone');
  assert.deepEqual(problems(page, MEDIA), []);
  assert.deepEqual(problems(phone, MEDIA), []);
});

test('the manual queue at phone size: filter, preview, export a ZIP, mark posted', async () => {
  const page = await demoContext(browser, srv.url, { mobile: true });
  await page.goto(srv.url + '/api/version');
  const pid = (await call(page, 'GET', '/api/projects')).body.projects[0].id;
  const tiktok = await renderedItem(page, pid, 'tiktok', 'Jollof for TikTok');
  const wa = await renderedItem(page, pid, 'whatsapp', 'Jollof for WhatsApp');
  for (const it of [tiktok, wa]) assert.equal((await call(page, 'POST', `/api/content-items/${it.id}/approve`, {})).status, 200);

  await page.goto(srv.url + '/dashboard/manual-queue');
  await settled(page);
  await page.locator(`[data-item="${tiktok.id}"]`).waitFor();
  await screenshot(page, 'manual-queue-phone');
  assert.equal(await page.locator('[data-item]').count(), 2);
  // Filter by channel.
  await page.getByLabel('Channel').selectOption('whatsapp');
  await page.waitForFunction(() => document.querySelectorAll('[data-item]').length === 1);
  assert.equal(await page.locator('[data-item]').getAttribute('data-item'), String(wa.id));
  await page.getByLabel('Channel').selectOption('');
  await page.waitForFunction(() => document.querySelectorAll('[data-item]').length === 2);

  // Preview plays the rendered video inline.
  const card = page.locator(`[data-item="${tiktok.id}"]`);
  await card.getByRole('button', { name: 'Preview' }).click();
  await card.locator('video').waitFor();
  await page.waitForFunction((id) => document.querySelector(`[data-item="${id}"] video`).readyState >= 1, tiktok.id);

  // Export the TikTok item: a real ZIP download, then it shows as exported.
  const [download] = await Promise.all([page.waitForEvent('download'), card.getByRole('button', { name: 'Export ZIP' }).click()]);
  assert.equal(download.suggestedFilename(), `cliploop-item-${tiktok.id}.zip`);
  const zip = await download.path();
  const list = spawnSync('unzip', ['-Z1', zip], { encoding: 'utf8' });
  assert.equal(list.status, 0, list.stderr);
  assert.deepEqual(list.stdout.split('\n').filter(Boolean).sort(),
    ['README.txt', 'assets/captions.vtt', 'assets/thumbnail.jpg', 'assets/video.mp4', 'caption.txt', 'cta.txt', 'manifest.json']);
  const manifest = JSON.parse(spawnSync('unzip', ['-p', zip, 'manifest.json']).stdout);
  assert.equal(manifest.item.id, tiktok.id);
  await page.waitForFunction((id) => /Exported/.test(document.querySelector(`[data-item="${id}"] [data-status]`)?.textContent || ''), tiktok.id);

  // Bulk: select both, one ZIP with a folder each.
  for (const id of [tiktok.id, wa.id]) await page.locator(`[data-item="${id}"] [data-select]`).check();
  const [bulk] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export selected (2)' }).click()]);
  const names = spawnSync('unzip', ['-Z1', await bulk.path()], { encoding: 'utf8' }).stdout;
  assert.match(names, new RegExp(`item-${tiktok.id}/manifest\\.json`));
  assert.match(names, new RegExp(`item-${wa.id}/assets/video\\.mp4`));

  // Mark posted with the post's link. What is open survives the list's reload
  // (here the one after exporting another item): the half-typed link and the
  // playing preview are still there.
  const waCard = page.locator(`[data-item="${wa.id}"]`);
  await waCard.getByRole('button', { name: 'Mark posted' }).click();
  await waCard.getByLabel(/Link to the post/).fill('https://wa.me/p/123');
  await page.evaluate(() => { document.querySelector('.queue-list').dataset.before = '1'; });
  const [again] = await Promise.all([page.waitForEvent('download'), card.getByRole('button', { name: 'Export ZIP' }).click()]);
  assert.equal(again.suggestedFilename(), `cliploop-item-${tiktok.id}.zip`);
  await page.waitForFunction(() => { const l = document.querySelector('.queue-list'); return l && !l.dataset.before; });
  assert.equal(await waCard.getByLabel(/Link to the post/).inputValue(), 'https://wa.me/p/123');
  assert.ok(await waCard.getByLabel(/Link to the post/).isVisible());
  assert.equal(await card.locator('video').count(), 1, 'the preview stays open across the reload');
  assert.equal(await card.getByRole('button', { name: 'Hide preview' }).count(), 1);
  await waCard.getByRole('button', { name: 'Save as posted' }).click();
  await page.waitForFunction((id) => /Posted/.test(document.querySelector(`[data-item="${id}"] [data-status]`)?.textContent || ''), wa.id);
  assert.deepEqual(psql(db.url, `SELECT manual_status, posted_url FROM content_items WHERE id = ${wa.id}`)[0], ['posted', 'https://wa.me/p/123']);
  await page.getByLabel('Status').selectOption('posted');
  await page.waitForFunction(() => document.querySelectorAll('[data-item]').length === 1);
  await screenshot(page, 'manual-queue-phone-posted');

  const desk = await demoContext(browser, srv.url);
  await desk.goto(srv.url + '/dashboard/manual-queue');
  await settled(desk);
  await desk.locator('[data-item]').first().waitFor();
  await screenshot(desk, 'manual-queue-desktop');
  assert.deepEqual(problems(page, MEDIA), []);
  assert.deepEqual(problems(desk, MEDIA), []);
  // Nothing of the exports stays on disk.
  assert.equal(spawnSync('ls', [path.join(storage, 'tmp', 'exports')], { encoding: 'utf8' }).stdout, '');
});
