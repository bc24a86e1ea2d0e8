// browser.mjs — drives Debian's Chromium (/usr/bin/chromium, or
// CLIPLOOP_CHROMIUM) headless through playwright-core. Never downloads a
// browser. Screenshots go to tests/e2e/artifacts/ (git-ignored).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../api/lib/harness.mjs';

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
  // Failed requests (network errors, aborted loads) and HTTP responses >= 400.
  page.failedRequests = [];
  page.on('requestfailed', (r) => page.failedRequests.push(`${r.method()} ${r.url()} ${r.failure()?.errorText || 'failed'}`));
  page.on('response', (r) => { if (r.status() >= 400) page.failedRequests.push(`${r.request().method()} ${r.url()} ${r.status()}`); });
  return page;
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

/** The two sizes every studio page is checked at. */
export const DESKTOP = { width: 1440, height: 900 };
