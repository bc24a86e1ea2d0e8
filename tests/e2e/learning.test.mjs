// The learning loop in a real browser, desktop and phone: a week's post is
// rendered and published through the mock publisher (the worker's scheduler
// and publish job), its tracking link is clicked in the browser, the landing
// page reports a sign-up conversion, the owner records revenue, and then on
// the week page's performance section: refresh numbers (rollup) → the charts (uPlot
// from /vendor) with their tables → analyse → generate next week. The
// project page shows the trend. Screenshots of the charts land in
// tests/e2e/artifacts/ (learning-*.png).
//
// The week's five posts are seeded from one rendered post (copies in SQL):
// the pack generator has its own tests, and the plan's 5 posts per week are
// then left for generate-next, which this walk exercises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { freePort, psql } from '../api/lib/harness.mjs';
import { demoContext, screenshot, problems, ARTIFACTS, useStudio, RENDER_WAIT_MS } from './lib/browser.mjs';

let db, srv, browser, storage;

const port = await freePort();
useStudio('e2e_learning', {
  storage: true, port,
  env: { CLIPLOOP_WORKERS: '1', CLIPLOOP_JOB_POLL_MS: '100', CLIPLOOP_SCHEDULER_TICK_MS: '200', CLIPLOOP_JOB_BACKOFF_MS: '100',
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`, ENCRYPTION_SECRET: 'e2e-learning-secret-0123456789abcdef' },
}, (w) => ({ db, srv, browser, storage } = w));

async function waitFor(fn, what, ms = RENDER_WAIT_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}\n${srv.proc.log.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The signed-in page's API (session cookie + CSRF token). */
function apiOf(page, csrf) {
  return async (method, p, body) => {
    const r = await page.context().request.fetch(srv.url + p, { method, data: body, headers: { 'x-csrf-token': csrf } });
    const text = await r.text();
    return { status: r.status(), body: text ? JSON.parse(text) : null };
  };
}

const DRAFT = {
  channel: 'instagram', hook: 'Party jollof trays for your office', script: ['Party jollof trays', 'Smoky, fresh, on time', 'Order today'],
  caption: 'Party jollof trays for the office, delivered hot in Lagos.', cta: 'Order on Instagram', caption_hint: '',
  hashtags: ['#jollof', '#lagosfood'], variants: {},
};
const HOOKS = ['Party jollof trays for your office', 'Smoke you can taste in every spoon', 'Friday lunch, sorted',
  'Meet the chef behind the trays', 'Last call for weekend trays'];
const ANGLES = ['offer', 'product', 'social_proof', 'behind_the_scenes', 'last_call'];

let owner, cycleId, projectId, items, nextCycleId;

test('publish (mock) → click the tracking link → conversion → revenue', async () => {
  const page = await demoContext(browser, srv.url);
  const me = await (await page.context().request.get(srv.url + '/api/me')).json();
  owner = apiOf(page, me.csrf_token);
  let r = await owner('POST', '/api/projects', { name: 'Mama Put Kitchen', project_type: 'business', business_name: 'Mama Put Kitchen',
    category: 'Restaurant', city: 'Lagos', primary_offer: 'Party jollof trays', preferred_channels: ['instagram', 'whatsapp'],
    language_style: 'english', website_url: `${srv.url}/pricing`, timezone: 'Africa/Lagos' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  projectId = r.body.project?.id ?? r.body.id;
  r = await owner('POST', `/api/projects/${projectId}/strategy-cycles`, {});
  cycleId = r.body.cycle.id;

  // one post rendered for real, the week's other four are copies of its files
  r = await owner('POST', '/api/content-items', { project_id: projectId, channel: 'instagram', draft: DRAFT, title: 'Jollof trays' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const first = r.body.id;
  assert.equal((await owner('POST', `/api/content-items/${first}/render`)).status, 202);
  await waitFor(async () => (await owner('GET', `/api/content-items/${first}`)).body.status === 'rendered', 'render');
  items = [first];
  for (let i = 1; i < 5; i++) {
    const [[id]] = psql(db.url, `INSERT INTO content_items (user_id, project_id, channel, title, draft, status, render_seq, publish_strategy)
      SELECT user_id, project_id, '${i === 3 ? 'whatsapp' : 'instagram'}', 'Post ${i + 1}', draft, status, render_seq, 'manual_export'
      FROM content_items WHERE id = ${first} RETURNING id`);
    psql(db.url, `INSERT INTO content_assets (content_item_id, kind, path, mime, bytes, renderer, render_seq)
      SELECT ${id}, kind, path, mime, bytes, renderer, render_seq FROM content_assets WHERE content_item_id = ${first}`);
    items.push(Number(id));
  }
  items.forEach((id, i) => psql(db.url, `UPDATE content_items SET cycle_id = ${cycleId}, position = ${i + 1},
    draft = jsonb_set(jsonb_set(draft, '{hook}', '"${HOOKS[i]}"'), '{angle}', '"${ANGLES[i]}"') WHERE id = ${id}`));

  // publish post 1 through the mock publisher: approve, schedule a few seconds ahead, the worker publishes it
  assert.equal((await owner('PATCH', `/api/content-items/${first}`, { publish_strategy: 'direct_instagram' })).status, 200);
  r = await owner('POST', `/api/content-items/${first}/approve`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const at = new Date(Date.now() + 3000).toISOString().replace(/\.\d+Z$/, 'Z');
  r = await owner('POST', `/api/content-items/${first}/schedule`, { at });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await waitFor(async () => (await owner('GET', `/api/content-items/${first}`)).body.publish_status === 'published', 'published (mock)');
  // post 2 went out by hand (manual export)
  for (const id of items.slice(1, 3)) {
    assert.equal((await owner('POST', `/api/content-items/${id}/approve`)).status, 200);
    assert.equal((await owner('POST', `/api/content-items/${id}/mark-posted`, {})).status, 200);
  }

  // a visitor clicks post 1's tracking link in the browser and lands on the site with clp_click
  const visitor = await browser.newPage();
  const slug = (await owner('GET', `/api/content-items/${first}`)).body.tracking_slug;
  await visitor.goto(`${srv.url}/r/${slug}`);
  const landed = new URL(visitor.url());
  assert.equal(landed.pathname, '/pricing');
  const clickId = landed.searchParams.get('clp_click');
  assert.ok(clickId, landed.href);
  // the landing page reports a sign-up with the publishable key (what the site script does)
  const keys = (await owner('GET', `/api/projects/${projectId}/tracking`)).body;
  const conv = await visitor.evaluate(async ({ key, clickId }) => {
    const res = await fetch(`/api/track/conversion?key=${encodeURIComponent(key)}`, { method: 'POST',
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clickId, eventType: 'signup', externalUserId: 'ada' }) });
    return res.status;
  }, { key: keys.publishable_key, clickId });
  assert.equal(conv, 201);
  // two more people click it, one clicks post 2
  for (let i = 0; i < 2; i++) await visitor.goto(`${srv.url}/r/${slug}`);
  await visitor.goto(`${srv.url}/r/${(await owner('GET', `/api/content-items/${items[1]}`)).body.tracking_slug}`);
  await visitor.close();
  // the owner records the order it led to
  r = await owner('POST', '/api/track/revenue', { clickId, amount: 1250000, currency: 'NGN', eventName: 'order', source: 'shop', projectId });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await waitFor(() => psql(db.url, `SELECT count(*) FROM tracking_clicks WHERE content_item_id IN (${items.join(',')})`)[0][0] === '4', 'clicks written');
});

for (const mobile of [false, true]) {
  test(`week performance on ${mobile ? 'a phone' : 'desktop'}: rollup → charts → analyse → generate next week`, async () => {
    const page = await demoContext(browser, srv.url, { mobile });
    const tag = mobile ? 'phone' : 'desktop';
    await page.goto(`${srv.url}/app/projects/${projectId}/weeks/${cycleId}`);
    const section = page.locator('[data-week-performance]');
    // The section as first loaded may already show an earlier rollup (charts
    // drawn, older numbers): wait for this refresh's rollup, then for the
    // section drawn again from it, however long the server takes.
    const rolledUp = page.waitForResponse((r) => r.request().method() === 'POST'
      && new URL(r.url()).pathname === `/api/strategy-cycles/${cycleId}/rollup`);
    await section.getByRole('button', { name: 'Refresh numbers' }).click();
    assert.equal((await rolledUp).status(), 200);
    const row1 = section.locator(`tr[data-perf-item="${items[0]}"]`);
    await page.waitForFunction((id) => /\b3\b/.test(document.querySelector(`tr[data-perf-item="${id}"]`)?.innerText || ''), items[0])
      .catch(async () => assert.fail(`post 1's row after the rollup: ${await row1.innerText()}`));
    await page.locator('[data-chart="scores"] [data-drawn="1"]').waitFor();
    await page.locator('[data-chart="daily"] canvas').waitFor();
    // the numbers the charts draw are also a table for screen readers
    const table = page.locator('[data-chart="daily"] [data-chart-table]');
    assert.match(await table.getAttribute('class'), /visually-hidden/);
    assert.match(await table.innerText(), /Clicks/);
    assert.match(await row1.innerText(), /\b3\b/); // 3 clicks
    assert.match(await row1.innerText(), /NGN 12,500/);
    assert.equal(await row1.locator('[data-class="winner"]').count(), 1);
    // views for a manual post
    const views = section.locator(`form[data-views="${items[1]}"]`);
    await views.locator('input').fill('40');
    await views.getByRole('button', { name: 'Save' }).click();
    await page.waitForFunction((id) => /2\.5%/.test(document.querySelector(`tr[data-perf-item="${id}"]`)?.innerText || ''), items[1]);
    await screenshot(page, `learning-week-charts-${tag}`);
    await section.screenshot({ path: path.join(ARTIFACTS, `learning-week-section-${tag}.png`) });

    if (!mobile) {
      await section.getByRole('button', { name: 'Analyse this week (free)' }).click();
      await section.locator('[data-summary]').waitFor();
      const summary = await section.locator('[data-summary]').innerText();
      assert.match(summary, /Party jollof trays for your office/);
      assert.match(summary, /3 clicks/);
      assert.match(summary, /NGN 12500/);
      assert.equal(await section.locator('.perf-plans > li').count(), 5);
      const cost = await section.locator('[data-next-cost]').innerText();
      assert.match(cost, /5 generation credits/);
      await section.getByRole('button', { name: /Generate next week/ }).click();
      await section.getByRole('link', { name: 'Open next week' }).waitFor({ timeout: 60000 });
      assert.match(await section.locator('[data-next-status]').innerText(), /has 5 posts/);
      await screenshot(page, `learning-week-analysis-${tag}`);
      const href = await section.getByRole('link', { name: 'Open next week' }).getAttribute('href');
      nextCycleId = Number(href.split('/').pop());
      const next = (await owner('GET', `/api/strategy-cycles/${nextCycleId}`)).body.cycle;
      assert.equal(next.source, 'iteration');
      assert.equal(next.parent_cycle_id, cycleId);
    } else {
      // the phone sees the stored analysis and the link to next week
      await section.locator('[data-summary]').waitFor();
      await section.getByRole('link', { name: 'Open next week' }).waitFor();
      const canvas = await page.locator('[data-chart="daily"] canvas').boundingBox();
      assert.ok(canvas.width <= 390, `chart fits the phone (${canvas.width}px)`);
      await screenshot(page, `learning-week-analysis-${tag}`);
    }
    // the next week lists what each post continues, with the winners' lineage
    await page.goto(`${srv.url}/app/projects/${projectId}/weeks/${nextCycleId}`);
    await page.locator('.perf-items tbody tr').first().waitFor();
    assert.equal(await page.locator('.perf-items tbody tr').count(), 5);
    assert.match(await page.locator('.perf-items').innerText(), /hook improved from “Party jollof trays for your office”/);
    await screenshot(page, `learning-next-week-${tag}`);

    await page.goto(`${srv.url}/app/projects/${projectId}`);
    const perf = page.locator('[data-project-performance]');
    await perf.locator('[data-chart="weeks"] [data-drawn="1"]').waitFor();
    // the latest winner's lineage: the winner, then the post it led to next week
    await perf.locator('.perf-lineage').first().waitFor();
    assert.match(await perf.locator('.perf-lineage').first().innerText(), /hook improved from “Party jollof trays for your office”/);
    await perf.scrollIntoViewIfNeeded();
    await screenshot(page, `learning-project-${tag}`);
    assert.deepEqual(problems(page), []);
  });
}
