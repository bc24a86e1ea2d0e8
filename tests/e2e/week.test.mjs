// The weekly loop in a real browser, at desktop (1440x900) and phone
// (390x844) size: from the dashboard's "This week" entry to the week page,
// on to next week, generate the pack (cost shown before charging), render
// all, approve all, schedule Mon–Fri at 18:00 — with the calendar strip
// showing the times in the project's zone. Screenshots of every step land
// in tests/e2e/artifacts/week-*.png; no console errors or failed requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { psql } from '../api/lib/harness.mjs';
import { newPage, screenshot, problems, useStudio } from './lib/browser.mjs';

let db, srv, storage, browser;
// A <video>/<img> may cancel a download it no longer needs.
const ALLOWED = [/GET \S+\/api\/assets\/\d+ net::ERR_ABORTED$/];

useStudio('e2e_week', { env: { CLIPLOOP_WORKERS: '1', CLIPLOOP_WORKER_CONCURRENCY: '2', CLIPLOOP_JOB_POLL_MS: '100' }, storage: true }, (w) => ({ db, srv, browser, storage } = w));

/** A signed-in page for a new beta user with one finished project (API set-up; the week is what is walked). */
async function userWithProject(email, mobile) {
  const page = await newPage(browser, { mobile, viewport: { width: 1440, height: 900 } });
  const context = page.context();
  const req = context.request;
  let r = await req.post(srv.url + '/api/auth/signup', { data: { email, password: 'password123' } });
  assert.equal(r.status(), 201, await r.text());
  const csrf = (await r.json()).csrf_token;
  r = await req.post(srv.url + '/api/dev/approve-user', { data: { email, plan: 'beta' }, headers: { 'x-csrf-token': csrf } });
  assert.equal(r.status(), 200, await r.text());
  r = await req.post(srv.url + '/api/projects', { headers: { 'x-csrf-token': csrf }, data: {
    name: 'Bola Bakes', project_type: 'business', business_name: 'Bola Bakes', category: 'Bakery', city: 'Ibadan',
    target_audience: 'Families planning birthdays', primary_offer: 'Custom birthday cakes', language_style: 'english',
    preferred_channels: ['instagram', 'whatsapp'], timezone: 'Africa/Lagos', onboarding_step: 'done' } });
  assert.equal(r.status(), 201, await r.text());
  return page;
}

async function settled(page) {
  await page.waitForFunction(() => document.body.dataset.ready === '1' && !document.getElementById('placeholder'), null, { timeout: 20000 });
}

async function walk(mobile) {
  const tag = mobile ? 'phone' : 'desktop';
  const page = await userWithProject(`week-${tag}@example.com`, mobile);

  // The dashboard's "This week" entry opens the week page.
  await page.goto(srv.url + '/app');
  await settled(page);
  await page.waitForFunction(() => /no posts for this week yet/.test(document.querySelector('[data-this-week-status]')?.textContent || ''));
  await page.locator('[data-this-week]').first().click();
  await page.waitForURL(/\/app\/projects\/\d+\/weeks\/\d+$/);
  await page.waitForSelector('[data-empty-pack]');
  await screenshot(page, `week-${tag}-1-this-week-empty`);

  // Plan next week (this week's weekdays may have passed).
  const thisWeek = page.url();
  await page.getByRole('button', { name: 'Next week' }).click();
  await page.waitForURL((u) => u.href !== thisWeek && /\/weeks\/\d+$/.test(u.pathname));
  await page.waitForSelector('[data-empty-pack]');
  const cost = await page.locator('[data-cost]').innerText();
  assert.match(cost, /Costs 5 generation credits · you have \d+/);
  await page.getByLabel("This week's focus").fill('Free delivery on birthday cakes this weekend');
  await screenshot(page, `week-${tag}-2-empty-with-cost`);
  await page.getByRole('button', { name: "Generate this week's pack" }).click();
  await page.waitForSelector('.post-card >> nth=4', { timeout: 30000 });
  assert.equal(await page.locator('.post-card').count(), 5);
  const text = await page.locator('.board').innerText();
  assert.match(text, /Bola Bakes/);
  assert.match(text, /free delivery/i);
  assert.equal(await page.locator('[data-testid="posts-left"]').innerText(), '0');
  await screenshot(page, `week-${tag}-3-pack`);

  // Render all: the button says what it costs before anything is charged.
  const renderAll = page.getByRole('button', { name: /Render all · 5 render credits/ });
  await renderAll.click();
  await page.waitForFunction(() => document.querySelectorAll('.post-card .tile-media img').length === 5, null, { timeout: 300000, polling: 1000 });
  await screenshot(page, `week-${tag}-4-rendered`);

  await page.getByRole('button', { name: /Approve all rendered/ }).click();
  await page.waitForFunction(() => document.querySelectorAll('.post-card [data-state="approved"]').length === 5, null, { timeout: 20000 });

  await page.locator('#bulk-time').fill('18:00');
  await page.getByRole('button', { name: /^Schedule \(3\)$/ }).click();
  await page.waitForFunction(() => document.querySelectorAll('.post-card [data-state="scheduled"]').length === 3, null, { timeout: 20000 });
  // The calendar strip shows the three Instagram posts at 18:00 (Lagos time) on Mon, Tue, Wed.
  const days = await page.locator('.week-strip .day').evaluateAll((els) => els.map((e) => e.innerText));
  assert.equal(days.length, 7);
  for (const i of [0, 1, 2]) assert.match(days[i], /18:00/);
  assert.doesNotMatch(days[3] + days[4] + days[5] + days[6], /18:00/);
  // The manual (WhatsApp) posts stay approved for the manual queue.
  assert.equal(await page.locator('.post-card [data-state="approved"]').count(), 2);
  await screenshot(page, `week-${tag}-5-scheduled`);
  await page.locator('.week-strip').scrollIntoViewIfNeeded();
  await screenshot(page, `week-${tag}-6-calendar`, { fullPage: false });

  // The project page lists the weeks.
  await page.getByRole('link', { name: '← Project' }).click();
  await page.waitForSelector('[data-weeks] .list');
  await screenshot(page, `week-${tag}-7-project`);

  assert.deepEqual(problems(page, ALLOWED), []);
  const uid = psql(db.url, `SELECT id FROM users WHERE email = 'week-${tag}@example.com'`)[0][0];
  // Charged exactly: one pack (5) and five renders (1 each).
  const charges = psql(db.url, `SELECT kind, sum(amount) FROM credit_ledger_entries WHERE user_id = ${uid} AND reason = 'charge' GROUP BY kind ORDER BY kind`);
  assert.deepEqual(charges, [['generation', '-5'], ['render', '-5']]);
  await page.context().close();
}

test('the week at desktop size: generate → render all → approve all → schedule', async () => {
  await walk(false);
});

test('the week at phone size: generate → render all → approve all → schedule', async () => {
  await walk(true);
});
