// The studio end to end in a real browser: the demo user signs in with one
// click, walks onboarding, lands on the dashboard, runs the guided create
// flow with the mock LLM and the FFmpeg renderer until the video plays,
// downloads the MP4, and pays the policy cost exactly once. Then the calm
// error paths (not enough credits, a provider error, a dropped connection
// retried with the same request id) and every main page at a desktop and a
// phone viewport, screenshotted under tests/e2e/artifacts/, without console
// errors or failed requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { psql } from '../api/lib/harness.mjs';
import { newPage, screenshot, problems, demoContext, useStudio, fillOnboarding, playVideo, RENDER_WAIT_MS } from './lib/browser.mjs';

let db, srv, storage, browser;
const demoId = () => psql(db.url, "SELECT id FROM users WHERE email = 'demo@cliploop.test'")[0][0];
const getJson = async (page, p) => page.evaluate(async (u) => (await fetch(u)).json(), p);
// A <video> cancels its first download once it has the metadata and goes on with range requests.
const MEDIA = [/GET \S+\/api\/assets\/\d+ net::ERR_ABORTED$/];

/** Wait until the studio page has rendered (no skeletons, no loading text). */
async function settled(page) {
  await page.waitForSelector('#page, #projects-view, #settings', { state: 'attached' });
  try {
    await page.waitForFunction(() => document.body.dataset.ready === '1' && !document.getElementById('placeholder')
      && ![...document.querySelectorAll('[aria-busy="true"]')].some((el) => el.offsetParent !== null)
      && !/Loading/.test(document.getElementById('view')?.innerText || ''), null, { timeout: 15000 });
  } catch (e) {
    const state = await page.evaluate(() => ({ url: location.href, ready: document.body.dataset.ready, text: document.getElementById('view')?.innerText.slice(0, 400) }));
    throw new Error(`page never settled: ${JSON.stringify(state)}`);
  }
}

/** The create flow with no render credits: the cost step says so and Generate is off, before anything is charged. */
async function shortOfRenderCredits(page) {
  await page.goto(srv.url + '/app/create');
  await page.getByLabel('What do you want to promote?').fill('Cupcakes for the weekend');
  await page.getByRole('button', { name: 'Write the brief' }).click();
  await page.getByText('Not enough render credits for this.').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Generate' }).isDisabled(), true);
}

useStudio('e2e_studio', { env: { CLIPLOOP_WORKERS: '1', CLIPLOOP_JOB_POLL_MS: '100' }, storage: true }, (w) => ({ db, srv, browser, storage } = w));

test('demo sign-in, onboarding, dashboard, and the create flow charges once and plays the video', async () => {
  const page = await newPage(browser);
  await page.goto(srv.url + '/login.html');
  await page.getByRole('button', { name: 'Continue as the demo user' }).click();
  // No project yet: /app sends the user to onboarding first.
  await page.waitForURL('**/app/onboarding');
  await fillOnboarding(page, 'Bola Bakes');
  await page.getByRole('button', { name: 'Finish' }).click();
  await page.waitForURL(/\/app$/);
  await settled(page);

  // The dashboard: real balances, empty outputs with an action, the grants in the activity.
  const before = await getJson(page, '/api/me/credits');
  assert.equal(await page.getByTestId('generation-balance').textContent(), String(before.generation.balance));
  assert.equal(await page.getByTestId('render-balance').textContent(), String(before.render.balance));
  assert.ok(await page.getByText('No outputs yet.').isVisible());
  assert.ok(await page.getByRole('link', { name: 'Create your first promo' }).isVisible());
  assert.equal(await page.locator('#activity-h ~ ul li, section[aria-labelledby="activity-h"] li').count(), 2); // the two monthly grants
  assert.ok(await page.locator('#mock-badge').isVisible(), 'mock LLM badge');
  await screenshot(page, 'flow-dashboard-empty-desktop');

  // The command bar: "/" focuses it, it finds the project.
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'search-input');
  await page.keyboard.type('bola');
  await page.getByRole('option', { name: /Bola Bakes/ }).waitFor();
  await page.keyboard.press('Escape');

  // The create flow.
  await page.getByRole('link', { name: 'Create a promo' }).first().click();
  await page.waitForURL('**/app/create');
  await page.getByLabel('What do you want to promote?').fill('Birthday cakes, 10% off this week, order on Instagram');
  await page.getByRole('button', { name: 'Write the brief' }).click();
  const tone = page.getByLabel('Tone');
  await tone.waitFor();
  for (const label of ['Title', 'Channel', 'Duration (seconds)', 'Visual style', 'Call to action', 'Caption hint']) {
    assert.ok(await page.locator('#step-brief').getByLabel(label).isVisible(), label);
  }
  await tone.fill('warm and playful');
  await page.locator('#step-brief').getByLabel('Call to action').fill('DM us to order');
  const cost = await getJson(page, '/api/create/cost?render=1');
  await page.getByTestId('cost').waitFor();
  assert.match(await page.getByTestId('balance').textContent(),
    new RegExp(`${before.generation.balance} generation credits · ${before.render.balance} render credits`));

  // A double click is one request and one charge.
  const generateCalls = [];
  page.on('request', (r) => { if (r.url().endsWith('/api/create/generate')) generateCalls.push(JSON.parse(r.postData())); });
  await page.getByRole('button', { name: 'Generate' }).dblclick();
  await page.waitForURL(/\/app\/create\?item=\d+$/);
  assert.equal(generateCalls.length, 1);
  assert.match(generateCalls[0].request_id, /^[A-Za-z0-9-]{8,100}$/);
  assert.equal(generateCalls[0].brief.tone, 'warm and playful');
  // The render's progress bar, then the result.
  await page.getByRole('progressbar', { name: 'Render progress' }).waitFor({ timeout: 15000 });
  const video = page.getByTestId('result-video');
  assert.ok(await playVideo(video, RENDER_WAIT_MS) > 0);
  assert.equal(await page.getByTestId('result-channel').textContent(), 'Instagram');
  assert.ok((await page.getByTestId('result-caption').textContent()).trim().length > 0);
  assert.ok((await page.getByTestId('result-cta').textContent()).trim().length > 0);
  assert.equal(await page.getByTestId('receipts').locator('.receipt').count(), 2);
  await screenshot(page, 'flow-result-desktop');

  // Download the MP4: an MP4 file (ftyp box) of the advertised size.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-mp4').click()]);
  const bytes = readFileSync(await download.path());
  assert.equal(bytes.subarray(4, 8).toString('latin1'), 'ftyp');
  assert.match(download.suggestedFilename(), /\.mp4$/);

  // The policy cost, exactly once.
  const afterCredits = await getJson(page, '/api/me/credits');
  assert.equal(afterCredits.generation.balance, before.generation.balance - cost.total.generation);
  assert.equal(afterCredits.render.balance, before.render.balance - cost.total.render);
  const charges = psql(db.url, `SELECT action, amount FROM credit_ledger_entries WHERE user_id = ${demoId()} AND reason <> 'monthly_grant' ORDER BY id`);
  assert.deepEqual(charges.map((r) => r.join(':')), ['generate_video.copy:-1', 'generate_video.render:-1']);

  // Back home: the output tile shows its thumbnail; the activity shows the charges.
  await page.goto(srv.url + '/app');
  await settled(page);
  const img = page.locator('.tile img').first();
  await img.waitFor();
  assert.ok(await img.evaluate((i) => (i.complete ? i.naturalWidth : new Promise((r) => { i.onload = () => r(i.naturalWidth); }))) > 0);
  assert.ok(await page.getByText('Video render').first().isVisible());
  await screenshot(page, 'flow-dashboard-desktop');
  assert.deepEqual(problems(page, MEDIA), []);
});

test('calm errors: short credits, a provider failure, a dropped connection retried without paying twice', async () => {
  const page = await demoContext(browser, srv.url);
  const uid = demoId();
  // 1. Not enough render credits: the cost step says so before anything is charged; copy only still works.
  psql(db.url, `UPDATE credit_accounts SET render_balance = 0 WHERE user_id = ${uid}`);
  try {
    await shortOfRenderCredits(page);
    await screenshot(page, 'flow-short-credits-desktop');
    await page.getByRole('button', { name: 'Write the copy only' }).click();
    await page.waitForFunction(() => !document.querySelector('[data-generate]').disabled);
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByText('The copy is ready; the video has not been rendered.').waitFor();
    assert.ok(await page.getByRole('button', { name: 'Render video (1 render credit)' }).isVisible());
  } finally {
    psql(db.url, `UPDATE credit_accounts SET render_balance = 5 WHERE user_id = ${uid}`);
  }

  // 2. A provider error (mocked response): a specific message, the refund said, the button usable again.
  await settled(page);
  await page.goto(srv.url + '/app/create');
  await page.getByLabel('What do you want to promote?').fill('Wedding cakes in June');
  await page.getByRole('button', { name: 'Write the brief' }).click();
  await page.getByTestId('cost').waitFor();
  const ids = [];
  let mode = 'fail';
  await page.route('**/api/create/generate', async (route) => {
    ids.push(JSON.parse(route.request().postData()).request_id);
    if (mode === 'fail') {
      await route.fulfill({ status: 502, contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'llm_failed', message: 'The provider answered with an error' } }) });
    } else if (mode === 'drop') {
      await route.abort('connectionreset');
    } else {
      await route.continue();
    }
  });
  const generate = page.locator('[data-generate]');
  await generate.click();
  await page.getByText('The AI provider could not write this promo.').waitFor();
  assert.ok(await page.getByText(/Your generation credit was refunded/).isVisible());
  assert.equal(await generate.isDisabled(), false);
  await screenshot(page, 'flow-provider-error-desktop');

  // 3. A dropped connection: "Try again" sends the same request id; the server charges once.
  mode = 'drop';
  await generate.click();
  await page.getByText('The connection dropped.').waitFor();
  assert.equal(await generate.textContent(), 'Try again');
  mode = 'pass';
  await generate.click();
  await page.waitForURL(/\/app\/create\?item=\d+$/);
  assert.equal(ids.length, 3);
  assert.notEqual(ids[1], ids[0], 'a refunded failure starts a fresh request');
  assert.equal(ids[2], ids[1], 'a retry after a dropped connection reuses the request id');
  // Charged once: one generation and one render for the request, however many tries.
  const rows = psql(db.url, `SELECT action FROM credit_ledger_entries WHERE user_id = ${uid} AND reason = 'charge' AND reference_key LIKE 'create:${ids[2]}:%' ORDER BY action`);
  assert.deepEqual(rows.map((r) => r[0]), ['generate_video.copy', 'generate_video.render']);
  await page.unroute('**/api/create/generate');
  await page.getByRole('progressbar', { name: 'Render progress' }).or(page.getByTestId('result-video')).first().waitFor();
  assert.deepEqual(problems(page, [/api\/create\/generate/, /ERR_CONNECTION_RESET/, /status of 502/, ...MEDIA]), []);
});

test('the create result and its calm errors on a phone: readable, no sideways scroll', async () => {
  const page = await demoContext(browser, srv.url, { mobile: true });
  const uid = demoId();
  const fits = async (name) => {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${name} overflows by ${overflow}px`);
  };

  // The result, opened from its link (as from a dashboard tile).
  const [[item]] = psql(db.url, `SELECT id FROM content_items WHERE user_id = ${uid} AND status = 'rendered' ORDER BY id LIMIT 1`);
  await page.goto(`${srv.url}/app/create?item=${item}`);
  await settled(page);
  // The poster, not the loading spinner: wait until the metadata is in and loading paused.
  await page.getByTestId('result-video').evaluate((v) => new Promise((resolve) => {
    const t = Date.now();
    const check = () => ((v.readyState >= 1 && v.networkState !== 2) || Date.now() - t > 5000 ? resolve() : setTimeout(check, 50));
    check();
  }));
  // Opened later, the page still lists both charges of this output (generation and render).
  assert.ok(await page.getByTestId('receipts').locator('.receipt').count() >= 2);
  await fits('result');
  await screenshot(page, 'flow-result-mobile');

  // Settings: each transaction says what it paid for, linked to the output; a stacked list, no sideways scroll.
  await page.goto(srv.url + '/dashboard/settings');
  await page.locator('[data-tx] .tx').first().waitFor();
  assert.ok(await page.locator(`[data-tx] a[href="/app/create?item=${item}"]`).count() >= 1);
  assert.ok(!/create:|content_item:/.test(await page.locator('[data-tx]').innerText()), 'no internal reference keys');
  await fits('settings transactions');
  await screenshot(page, 'settings-transactions-mobile');

  // Not enough render credits: said before anything is charged.
  const [[renderBalance]] = psql(db.url, `SELECT render_balance FROM credit_accounts WHERE user_id = ${uid}`);
  psql(db.url, `UPDATE credit_accounts SET render_balance = 0 WHERE user_id = ${uid}`);
  try {
    await shortOfRenderCredits(page);
    await fits('short credits');
    await screenshot(page, 'flow-short-credits-mobile');
  } finally {
    psql(db.url, `UPDATE credit_accounts SET render_balance = ${Number(renderBalance)} WHERE user_id = ${uid}`);
  }

  // A provider error (mocked response).
  await page.route('**/api/create/generate', (route) => route.fulfill({ status: 502, contentType: 'application/json',
    body: JSON.stringify({ error: { code: 'llm_failed', message: 'The provider answered with an error' } }) }));
  await page.goto(srv.url + '/app/create');
  await page.getByLabel('What do you want to promote?').fill('Wedding cakes in June');
  await page.getByRole('button', { name: 'Write the brief' }).click();
  await page.getByTestId('cost').waitFor();
  await page.locator('[data-generate]').click();
  await page.getByText('The AI provider could not write this promo.').waitFor();
  assert.ok(await page.getByText(/Your generation credit was refunded/).isVisible());
  await fits('provider error');
  await screenshot(page, 'flow-provider-error-mobile');
  await page.unroute('**/api/create/generate');
  assert.deepEqual(problems(page, [/api\/create\/generate 502$/, /status of 502/, ...MEDIA]), []);
});

// The demo user's project (made during onboarding in the first test).
const projectId = () => psql(db.url, `SELECT id FROM projects WHERE owner_id = ${demoId()} ORDER BY id LIMIT 1`)[0][0];
/** Show onboarding part-way (the project marked unfinished); returns the function that restores it. */
function midOnboarding() {
  const id = projectId();
  const [[at, step]] = psql(db.url, `SELECT onboarded_at, onboarding_step FROM projects WHERE id = ${id}`);
  psql(db.url, `UPDATE projects SET onboarded_at = NULL, onboarding_step = 'audience' WHERE id = ${id}`);
  return () => psql(db.url, `UPDATE projects SET onboarded_at = '${at}', onboarding_step = '${step}' WHERE id = ${id}`);
}

// [name, url (or a function giving it), signed in, setup (returns a restore function)]
const PAGES = [
  ['landing', '/', false], ['login', '/login.html', false], ['signup', '/signup.html', false], ['waitlist', '/waitlist.html', false],
  ['forgot-password', '/forgot-password.html', false], ['mail-log', '/mail.html', false],
  ['app', '/app', true], ['onboarding', '/app/onboarding', true, midOnboarding], ['create', '/app/create', true],
  ['projects', '/app/projects', true], ['project', () => `/app/projects/${projectId()}`, true],
  ['settings', '/dashboard/settings', true], ['chats', '/app/chats', true], ['manual-queue', '/dashboard/manual-queue', true],
];

for (const mobile of [false, true]) {
  test(`every main page on ${mobile ? 'a phone' : 'desktop'}: renders, no console errors, no failed requests`, async () => {
    const signedIn = await demoContext(browser, srv.url, { mobile });
    const signedOut = await newPage(browser, { mobile });
    const suffix = mobile ? 'mobile' : 'desktop';
    for (const [name, target, auth, setup] of PAGES) {
      const url = typeof target === 'function' ? target() : target;
      const page = auth ? signedIn : signedOut;
      page.consoleErrors.length = 0;
      page.failedRequests.length = 0;
      const restore = setup ? setup() : null;
      try {
        await page.goto(srv.url + url);
        if (auth) {
          assert.equal(new URL(page.url()).pathname, url, `${name} stays on its page`);
          await settled(page);
          await page.waitForFunction(() => document.querySelector('[data-health-text]')?.textContent !== 'checking…');
          // Every image on the page loaded (thumbnails included).
          await page.waitForFunction(() => [...document.images].every((i) => i.complete));
          assert.ok(await page.evaluate(() => [...document.images].every((i) => i.naturalWidth > 0)), `${name}: broken image`);
        } else {
          await page.waitForLoadState('networkidle');
        }
        // Nothing wider than the viewport (no sideways scrolling on a phone).
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${name} overflows by ${overflow}px`);
        await screenshot(page, `${name}-${suffix}`);
      } finally {
        if (restore) restore();
      }
      assert.deepEqual(problems(page), [], `${name} (${suffix})`);
    }
    if (mobile) {
      // The drawer: the hamburger opens the sidebar over the page, Escape closes it.
      const page = signedIn;
      await page.goto(srv.url + '/app');
      await settled(page);
      assert.equal(await page.locator('#sidebar').evaluate((el) => el.getBoundingClientRect().right <= 0), true);
      await page.getByRole('button', { name: 'Open menu' }).click();
      await page.waitForFunction(() => document.getElementById('sidebar').getBoundingClientRect().left >= 0);
      await page.waitForTimeout(250); // the slide-in transition
      await screenshot(page, 'drawer-mobile', { fullPage: false });
      assert.ok(await page.getByRole('navigation', { name: 'Studio' }).getByRole('link', { name: 'Settings' }).isVisible());
      await page.keyboard.press('Escape');
      await page.waitForFunction(() => document.getElementById('sidebar').getBoundingClientRect().right <= 0);
    }
  });
}
