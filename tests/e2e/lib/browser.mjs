// browser.mjs — drives Debian's Chromium (/usr/bin/chromium, or
// CLIPLOOP_CHROMIUM) headless through playwright-core. Never downloads a
// browser. Screenshots go to tests/e2e/artifacts/ (git-ignored).
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT, psql, startMockServer, RENDER_WAIT_MS } from '../../api/lib/harness.mjs';

export { RENDER_WAIT_MS };

export const ARTIFACTS = path.join(ROOT, 'tests', 'e2e', 'artifacts');

export async function launch() {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CLIPLOOP_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A browser test file's world: a fresh database `name`, a server in
 * MOCK_MODE with env added (with storage, on its own storage root,
 * CLIPLOOP_STORAGE_DIR; port fixes its port), and Chromium. Returns
 * {db, srv, browser, storage, stop}; stop() (the file's after()) closes and
 * removes all of it.
 */
export async function startStudio(name, opts = {}) {
  const s = await startMockServer(name, opts);
  const stopServer = s.stop;
  s.stop = async () => {
    if (s.browser) await s.browser.close();
    await stopServer();
  };
  try {
    s.browser = await launch();
  } catch (e) {
    await s.stop();
    throw e;
  }
  return s;
}

/**
 * startStudio for the whole file: started before its tests (ready(world)
 * gets {db, srv, browser, storage}), stopped after them.
 */
export function useStudio(name, opts, ready) {
  let world;
  before(async () => {
    world = await startStudio(name, opts);
    ready(world);
  });
  after(() => world?.stop());
}

/**
 * The onboarding form filled with the bakery the studio tests use (project
 * name; website when given), stopping before Finish.
 */
export async function fillOnboarding(page, name, website) {
  await page.getByLabel('Project name').fill(name);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Category').fill('Bakery');
  await page.getByLabel('City').fill('Ibadan');
  await page.getByLabel('What do you sell?').fill('Custom birthday cakes');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Who buys from you?').fill('Parents planning birthdays');
  await page.getByLabel('Language style').selectOption('mixed');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('checkbox', { name: 'Instagram' }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  if (website) await page.getByRole('textbox', { name: 'Website' }).fill(website);
}

/**
 * A <video> locator that shows up (within timeout ms), has a duration, and
 * plays (muted): it is paused and rewound after a few frames. Returns the
 * position it reached, > 0.
 */
export async function playVideo(video, timeout) {
  await video.waitFor({ timeout });
  const duration = await video.evaluate((v) => new Promise((resolve, reject) => {
    const done = () => resolve(v.duration);
    if (v.readyState >= 1) done();
    else { v.addEventListener('loadedmetadata', done); v.addEventListener('error', () => reject(new Error('video error ' + v.error?.code))); }
  }));
  if (!(duration > 0)) throw new Error(`video duration ${duration}`);
  return video.evaluate(async (v) => {
    v.muted = true;
    await v.play();
    await new Promise((r) => { const t = () => (v.currentTime > 0 ? r() : setTimeout(t, 50)); t(); });
    v.pause();
    const reached = v.currentTime;
    v.currentTime = 0;
    return reached;
  });
}

/**
 * Sign up `mail` in the browser, approve and verify it in the database (as
 * the operator and the mailed link would), and open onboarding.
 */
export async function signUpForOnboarding(page, srv, dbUrl, mail) {
  await page.goto(srv.url + '/signup.html');
  await page.getByLabel('Email').fill(mail);
  await page.getByLabel(/Password/).fill('a good long password');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(/verify-email/);
  psql(dbUrl, `UPDATE users SET beta_approved = true, beta_approved_at = now(), email_verified_at = now() WHERE email = '${mail}'`);
  await page.goto(srv.url + '/app/onboarding');
}

/** A page with a desktop (1280x800, or `viewport`) or phone (390x844) viewport. */
export async function newPage(browser, { mobile = false, viewport = { width: 1280, height: 800 } } = {}) {
  const context = await browser.newContext(mobile
    ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }
    : { viewport });
  const page = await context.newPage();
  page.consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const where = m.location()?.url;
    page.consoleErrors.push(where ? `${m.text()} @ ${where}` : m.text());
  });
  page.on('pageerror', (e) => page.consoleErrors.push(String(e)));
  watchRequests(page);
  return page;
}

/**
 * Collect page's failed requests (network errors, aborted loads) and HTTP
 * responses >= 400 in page.failedRequests, as "METHOD URL reason" lines —
 * except the requests a navigation cut off. When the page goes to another
 * document (goto, reload, a followed link), Chromium aborts what the old
 * one still had in flight (a poll, a late image) with net::ERR_ABORTED
 * between the navigation's request and its commit; how often a poll is in
 * flight just then depends only on how fast the machine answers. Such an
 * abort is dropped once the new document commits; an abort while the page
 * stays (or after a same-document pushState) is still a failure.
 */
export function watchRequests(page) {
  page.failedRequests = [];
  let navigating = false; // a main-frame navigation request was sent and has not committed yet
  const cut = []; // lines of requests aborted while navigating
  // The page's API calls (fetch, XHR) in flight, and when the last one started or ended (for apiQuiet).
  const calls = new Set();
  page.apiActivity = { calls, at: Date.now() };
  const ended = (r) => { if (calls.delete(r)) page.apiActivity.at = Date.now(); };
  page.on('requestfinished', ended);
  page.on('requestfailed', ended);
  page.on('request', (r) => {
    if (r.isNavigationRequest() && r.frame() === page.mainFrame()) navigating = true;
    if (['fetch', 'xhr'].includes(r.resourceType())) { calls.add(r); page.apiActivity.at = Date.now(); }
  });
  page.on('framenavigated', (f) => {
    if (f !== page.mainFrame() || !navigating) return;
    navigating = false;
    for (const line of cut.splice(0)) {
      const i = page.failedRequests.lastIndexOf(line);
      if (i >= 0) page.failedRequests.splice(i, 1);
    }
  });
  page.on('requestfailed', (r) => {
    const line = `${r.method()} ${r.url()} ${r.failure()?.errorText || 'failed'}`;
    page.failedRequests.push(line);
    if (navigating && !r.isNavigationRequest() && /ERR_ABORTED/.test(line)) cut.push(line);
  });
  page.on('response', (r) => { if (r.status() >= 400) page.failedRequests.push(`${r.request().method()} ${r.url()} ${r.status()}`); });
}

/**
 * Wait until page (from newPage or with watchRequests) has had no API call
 * (fetch, XHR) in flight for quietMs: the late fills of a page (counts,
 * statuses loaded after the first paint) have landed, however long the
 * server took. Gives up after timeout ms.
 */
export async function apiQuiet(page, quietMs = 300, timeout = 20000) {
  const end = Date.now() + timeout;
  for (;;) {
    const { calls, at } = page.apiActivity;
    if (calls.size === 0 && Date.now() - at >= quietMs) return;
    if (Date.now() > end) throw new Error(`API calls still running after ${timeout} ms: ${[...calls].map((r) => r.url()).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Save tests/e2e/artifacts/<name>.png: the whole page, or only the viewport with fullPage: false. */
export async function screenshot(page, name, { fullPage = true } = {}) {
  if (fullPage) await page.evaluate(() => window.scrollTo(0, 0)); // sticky bars belong at the top
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage });
}

/**
 * Console errors and failed requests of page that match none of the allowed
 * patterns (deliberate failures: a 401 from /api/me on a signed-out page,
 * a mocked provider error, ...). Returns [] when the page was clean.
 */
export function problems(page, allowed = []) {
  const ok = (line) => allowed.some((re) => re.test(line));
  return [...page.consoleErrors, ...page.failedRequests].filter((line) => !ok(line));
}

/**
 * A signed-in browser context (the demo user through the mock-mode one-click
 * route). page.csrf is the session's CSRF token; page.call(method, path, body)
 * calls the API as that user and answers {status, body}.
 */
export async function demoContext(browser, baseUrl, { mobile = false, viewport } = {}) {
  const page = await newPage(browser, viewport ? { mobile, viewport } : { mobile });
  const r = await page.context().request.post(baseUrl + '/api/dev/demo-login', { data: {} });
  if (r.status() !== 200) throw new Error(`demo log-in failed: ${r.status()} ${await r.text()}`);
  page.csrf = (await r.json()).csrf_token;
  page.call = async (method, p, body) => {
    const res = await page.context().request.fetch(baseUrl + p, { method, data: body, headers: { 'x-csrf-token': page.csrf } });
    const text = await res.text();
    return { status: res.status(), body: text ? JSON.parse(text) : null };
  };
  return page;
}

/**
 * A promo made through the API for a demoContext page: in the demo user's
 * first project (a restaurant, made when missing), from prompt, for
 * Instagram, with request id `key`. Returns the content item id.
 */
export async function apiPromo(page, prompt, key) {
  const want = async (r, what) => {
    if (r.status < 200 || r.status > 299) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  let projectId = (await want(await page.call('GET', '/api/projects'), 'projects')).projects?.[0]?.id;
  if (!projectId) {
    const p = await want(await page.call('POST', '/api/projects', {
      name: 'Mama Put Kitchen', project_type: 'business', business_name: 'Mama Put Kitchen', category: 'Restaurant',
      city: 'Yaba', target_audience: 'Office workers', primary_offer: 'Jollof rice', preferred_channels: ['instagram'],
      language_style: 'english', onboarding_step: 'done',
    }), 'project');
    projectId = p.project?.id ?? p.id;
  }
  const { brief } = await want(await page.call('POST', '/api/create/brief', { project_id: projectId, prompt, channel: 'instagram' }), 'brief');
  const g = await want(await page.call('POST', '/api/create/generate', { project_id: projectId, brief, request_id: key }), 'generate');
  return g.content_item_id;
}

/** The two sizes every studio page is checked at. */
export const DESKTOP = { width: 1440, height: 900 };
