// The public site and billing in a real browser: every public page at phone
// (390x844) and desktop (1440x900) size without console errors or sideways
// scrolling, readable with JavaScript disabled; pricing → sign up → checkout
// redirect against the fake Lemon Squeezy; settings' billing card, its
// history and "Manage billing" → the provider's portal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { serveFresh, apiClient, verifyEmail, verifyEmailOf } from '../api/lib/harness.mjs';
import { launch, problems, watchRequests, ARTIFACTS } from './lib/browser.mjs';
import { startLemonSqueezyFake, sign, subscriptionEvent, subscriptionAttributes, paymentEvent } from '../fakes/lemonsqueezy_fake.mjs';

const SECRET = 'e2e_secret';
const PAGES = [['landing', '/'], ['pricing', '/pricing'], ['request-access', '/request-access'],
  ['billing-success', '/billing/success'], ['billing-cancel', '/billing/cancel'], ['terms', '/terms'], ['privacy', '/privacy']];
const SIZES = { desktop: { viewport: { width: 1440, height: 900 } },
  phone: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true } };
let db, srv, browser, fake;

before(async () => {
  fake = await startLemonSqueezyFake();
  ({ db, srv } = await serveFresh('e2e_site', {
    CLIPLOOP_SCRYPT_LOG_N: '10', BILLING_PROVIDER: 'lemonsqueezy', LEMON_SQUEEZY_API_KEY: 'test_key',
    LEMON_SQUEEZY_STORE_ID: '4242', LEMON_SQUEEZY_STARTER_VARIANT_ID: '777', LEMON_SQUEEZY_WEBHOOK_SECRET: SECRET,
    LEMON_SQUEEZY_API_BASE_URL: fake.baseUrl, CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS: String(fake.port),
  }));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  await fake?.close();
  db?.drop();
});

async function open(size, { js = true } = {}) {
  const context = await browser.newContext({ ...SIZES[size], javaScriptEnabled: js });
  const page = await context.newPage();
  page.consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') page.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => page.consoleErrors.push(String(e)));
  watchRequests(page);
  return page;
}

// The API client's session in the browser, with the readable companion cookie
// the studio checks before it asks /api/me.
const signIn = (page, u) => page.context().addCookies([
  { name: 'cliploop_session', value: u.cookie.split('=')[1], url: srv.url },
  { name: 'cliploop_signed_in', value: '1', url: srv.url },
]);

const shot = (page, name) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

for (const size of ['desktop', 'phone']) {
  test(`public pages on ${size}: no console errors, nothing wider than the screen`, async () => {
    const page = await open(size);
    for (const [name, p] of PAGES) {
      await page.goto(srv.url + p);
      await page.waitForLoadState('networkidle');
      assert.match(await page.title(), /ClipLoop/, p);
      assert.ok(await page.locator('h1').isVisible(), `${p}: heading visible`);
      // Nothing sticks out to the right (scrollWidth misses clipped children).
      const overflow = await page.evaluate(() => Math.max(document.documentElement.scrollWidth,
        ...[...document.body.querySelectorAll('*')].map((el) => Math.ceil(el.getBoundingClientRect().right))) - window.innerWidth);
      assert.ok(overflow <= 0, `${p}: ${overflow}px wider than the viewport`);
      await shot(page, `site-${name}-${size}`);
    }
    assert.deepEqual(problems(page), []);
    await page.context().close();
  });
}

test('the landing page shows a real example: rendered by this build, with a poster and captions, and it plays', async () => {
  const page = await open('phone');
  await page.goto(srv.url + '/');
  const video = page.locator('.public-example video');
  assert.equal(await video.count(), 1);
  const poster = await page.evaluate(async () => {
    const v = document.querySelector('.public-example video');
    const r = await fetch(v.poster);
    return { status: r.status, type: r.headers.get('content-type'), bytes: (await r.arrayBuffer()).byteLength };
  });
  assert.equal(poster.status, 200);
  assert.match(poster.type, /image\/jpeg/);
  assert.ok(poster.bytes < 40000, `poster ${poster.bytes} bytes keeps the page light`);
  const played = await video.evaluate(async (v) => {
    v.muted = true;
    v.preload = 'auto';
    await v.play();
    await new Promise((r) => { const t = () => (v.currentTime > 0.2 ? r() : setTimeout(t, 50)); t(); });
    v.pause();
    return { duration: v.duration, w: v.videoWidth, h: v.videoHeight, cues: v.textTracks[0]?.cues?.length ?? 0 };
  });
  assert.ok(Math.abs(played.duration - 12) < 0.5, JSON.stringify(played));
  assert.deepEqual([played.w, played.h], [1080, 1920]);
  assert.equal(played.cues, 3);
  await shot(page, 'site-landing-example-phone');
  assert.deepEqual(problems(page), []);
  await page.context().close();
});

test('public pages are readable with JavaScript disabled', async () => {
  const page = await open('phone', { js: false });
  const expect = {
    '/': ['Short-form promo videos', 'Works today', 'Not a fit'],
    '/pricing': ['Pricing', 'Generation credits / month', '$5', 'Get Pro', 'What each action costs'],
    '/request-access': ['Request access', 'What do you sell?', 'Where do you post?'],
    '/billing/success': ['Thanks for subscribing to Pro'],
    '/billing/cancel': ['Nothing was charged'],
    '/terms': ['placeholder'],
    '/privacy': ['placeholder'],
  };
  for (const [p, words] of Object.entries(expect)) {
    await page.goto(srv.url + p);
    const text = await page.locator('main').innerText();
    for (const w of words) assert.ok(text.includes(w), `${p}: "${w}" readable without JavaScript`);
  }
  await shot(page, 'site-pricing-nojs-phone');
  // The request form posts as a plain HTML form and answers with a page.
  await page.goto(srv.url + '/request-access');
  await page.getByLabel('Email').fill('nojs-request@example.com');
  await page.getByLabel('TikTok').check();
  await page.getByRole('button', { name: 'Request access' }).click();
  await page.getByText('Thanks — your request is in.').waitFor();
  await shot(page, 'site-request-access-nojs-done-phone');
  await page.context().close();
});

test('request access: the form sends and shows one calm confirmation', async () => {
  const page = await open('phone');
  await page.goto(srv.url + '/request-access');
  await page.getByLabel('Your name').fill('Ada');
  await page.getByLabel('Email').fill('ada-request@example.com');
  await page.getByLabel('What do you sell?').fill('Jollof trays in Lagos');
  await page.getByLabel('Instagram').check();
  await page.getByLabel('WhatsApp').check();
  await page.getByRole('button', { name: 'Request access' }).click();
  await page.getByText('Thanks — your request is in.').waitFor();
  await shot(page, 'site-request-access-done-phone');
  assert.deepEqual(problems(page), []);
  await page.context().close();
});

test('pricing → sign up → checkout redirect to the provider (fake Lemon Squeezy)', async () => {
  const page = await open('desktop');
  await page.goto(srv.url + '/pricing');
  await page.getByRole('link', { name: 'Get Pro' }).click();
  await page.waitForURL('**/signup.html?next=*');
  await page.getByLabel('Email').fill('e2e-buyer@example.com');
  await page.getByLabel('Password').fill('password123');
  await page.getByRole('button', { name: /create account|sign up/i }).click();
  // A plan would not apply to an unconfirmed address: first "check your inbox".
  await page.waitForURL('**/verify-email.html?next=*');
  await verifyEmailOf(srv.url, 'e2e-buyer@example.com');
  await page.goto(srv.url + '/pricing?checkout=1');
  // On /pricing?checkout=1, the checkout starts by itself and the browser leaves for the provider.
  await page.waitForURL(`${fake.baseUrl}/checkout/buy/**`, { timeout: 15000 });
  assert.equal(await page.locator('h1').innerText(), 'Fake Lemon Squeezy checkout');
  assert.equal(await page.locator('#email').innerText(), 'e2e-buyer@example.com');
  assert.match(await page.locator('#redirect').getAttribute('href'), /\/billing\/success$/);
  const checkouts = fake.requests.filter((r) => r.path === '/v1/checkouts');
  assert.equal(checkouts.length, 1);
  await shot(page, 'site-checkout-fake-desktop');
  assert.deepEqual(problems(page), []);
  await page.context().close();
});

for (const size of ['desktop', 'phone']) {
  test(`settings on ${size}: subscription, billing history, manage billing → portal`, async () => {
    const email = `e2e-pro-${size}@example.com`;
    const u = apiClient(srv.url);
    await u.signup(email);
    await verifyEmail(u);
    const subId = size === 'desktop' ? '7001' : '7002';
    const deliver = (body) => fetch(srv.url + '/api/webhooks/lemonsqueezy', {
      method: 'POST', body, headers: { 'content-type': 'application/json', 'x-signature': sign(body, SECRET) },
    });
    assert.equal((await deliver(subscriptionEvent('subscription_created', { subscriptionId: subId, userId: u.user.id }))).status, 200);
    assert.equal((await deliver(paymentEvent('subscription_payment_success', { invoiceId: subId, subscriptionId: subId, userId: u.user.id }))).status, 200);
    const attrs = subscriptionAttributes({ status: 'active' });
    attrs.urls.customer_portal = `${fake.baseUrl}/billing-portal`;
    fake.subscriptions.set(subId, attrs);

    const page = await open(size);
    await signIn(page, u);
    await page.goto(srv.url + '/dashboard/settings');
    const card = page.locator('#billing');
    await card.waitFor();
    assert.equal(await card.getByTestId('sub-status').innerText(), 'Active');
    assert.match(await card.getByTestId('sub-dates').innerText(), /Renews on/);
    const history = await card.getByTestId('billing-history').innerText();
    assert.match(history, /Pro subscription started/);
    assert.match(history, /Payment received/);
    assert.match(history, /\$5\.00/);
    await card.scrollIntoViewIfNeeded();
    await shot(page, `settings-billing-${size}`);
    await card.getByRole('button', { name: 'Manage billing' }).click();
    await page.waitForURL(`${fake.baseUrl}/billing-portal`);
    assert.equal(await page.locator('h1').innerText(), 'Fake customer portal');
    assert.deepEqual(problems(page), []);
    await page.context().close();
  });
}

test('settings without a subscription and the waitlist link to pricing (no dead ends)', async () => {
  const u = apiClient(srv.url);
  await u.signup('e2e-waiting@example.com');
  await verifyEmail(u);
  const page = await open('phone');
  await signIn(page, u);
  await page.goto(srv.url + '/dashboard/settings');
  await page.locator('#billing').waitFor();
  assert.equal(await page.getByTestId('see-pro').getAttribute('href'), '/pricing');
  assert.ok(await page.locator('a[href="/pricing"]', { hasText: 'get Pro' }).count() >= 1);
  await shot(page, 'settings-billing-none-phone');
  await page.goto(srv.url + '/waitlist.html');
  assert.equal(await page.getByRole('link', { name: 'Pro subscribers' }).getAttribute('href'), '/pricing');
  await page.context().close();
});
