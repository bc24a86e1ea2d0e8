// site.test.mjs — the server-rendered public pages: present, readable as
// plain HTML, with titles/descriptions/Open Graph tags, values from the
// policy module, the landing page's weight, and the /pricing Pro button in
// each situation (billing off, signed out, signed in, already Pro).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, apiClient } from './lib/harness.mjs';
import { startLemonSqueezyFake } from '../fakes/lemonsqueezy_fake.mjs';

let db, off, on, fake;
const PAGES = ['/', '/pricing', '/request-access', '/billing/success', '/billing/cancel', '/terms', '/privacy'];

before(async () => {
  fake = await startLemonSqueezyFake();
  db = createDatabase('site');
  off = await startServer({ dbUrl: db.url, env: { MOCK_MODE: 'true', CLIPLOOP_SCRYPT_LOG_N: '10' } });
  on = await startServer({
    dbUrl: db.url, migrate: false,
    env: {
      MOCK_MODE: 'true', CLIPLOOP_SCRYPT_LOG_N: '10', BILLING_PROVIDER: 'lemonsqueezy', LEMON_SQUEEZY_API_KEY: 'test_key',
      LEMON_SQUEEZY_STORE_ID: '4242', LEMON_SQUEEZY_STARTER_VARIANT_ID: '777', LEMON_SQUEEZY_WEBHOOK_SECRET: 's',
      LEMON_SQUEEZY_API_BASE_URL: fake.baseUrl, CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS: String(fake.port),
    },
  });
});

after(async () => {
  await off?.stop();
  await on?.stop();
  await fake?.close();
  db?.drop();
});

const text = (html) => html.replace(/<script[\s\S]*?<\/script>/g, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

test('every public page is server-rendered HTML with a title, description, Open Graph tags and a favicon', async () => {
  const titles = new Set();
  for (const p of PAGES) {
    const r = await fetch(off.url + p);
    assert.equal(r.status, 200, p);
    assert.match(r.headers.get('content-type'), /^text\/html/, p);
    const html = await r.text();
    const title = /<title>([^<]+)<\/title>/.exec(html)?.[1];
    assert.ok(title && title.includes('ClipLoop'), p);
    titles.add(title);
    assert.match(html, /<meta name="description" content="[^"]{40,}">/, p);
    for (const prop of ['og:title', 'og:description', 'og:url', 'og:type', 'og:image']) {
      assert.match(html, new RegExp(`<meta property="${prop}" content="[^"]+">`), `${p} ${prop}`);
    }
    assert.match(html, /<link rel="icon" href="\/assets\/favicon\.[0-9a-f]{10}\.svg"/, p); // fingerprinted
    assert.match(html, /<h1>/, p);
    assert.doesNotMatch(html, /\{\{/, `${p}: every template value is filled`);
    assert.doesNotMatch(html, /fonts\.googleapis|@font-face|\.woff/, `${p}: no web fonts`);
  }
  assert.equal(titles.size, PAGES.length, 'each page has its own title');
  assert.equal((await fetch(off.url + '/assets/og.png')).headers.get('content-type'), 'image/png');
  // Not a page: still the plain 404, and the API's JSON 404 stays JSON.
  assert.equal((await fetch(off.url + '/no-such-page')).status, 404);
  assert.equal((await fetch(off.url + '/api/no-such')).headers.get('content-type'), 'application/json; charset=utf-8');
});

test('the landing page weighs under 100 KB with everything it loads, and needs no script', async () => {
  const html = await (await fetch(off.url + '/')).text();
  assert.doesNotMatch(html, /<script/);
  let total = Buffer.byteLength(html);
  const refs = [...html.matchAll(/<link rel="(?:stylesheet|icon)" href="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(refs.length >= 2);
  for (const ref of refs) total += (await (await fetch(off.url + ref)).arrayBuffer()).byteLength;
  assert.ok(total < 100 * 1024, `landing page with its CSS and icon: ${total} bytes`);
  const words = text(html);
  for (const claim of ['Invite-only beta', 'Works today', 'Being built in the beta', 'Not a fit', 'A good fit']) {
    assert.ok(words.includes(claim), claim);
  }
});

test('/pricing shows the policy module\'s numbers for every plan', async () => {
  const u = apiClient(off.url);
  await u.demoLogin();
  const html = await (await fetch(off.url + '/pricing')).text();
  const fact = (plan, label) => new RegExp(`id="plan-${plan}"[\\s\\S]*?<dt>${label}</dt><dd>([^<]+)</dd>`).exec(html)?.[1];
  // The demo user is on beta: its /api/me/plan (the same policy module) must match the beta column.
  const plan = (await u.get('/api/me/plan')).body;
  assert.equal(plan.plan.id, 'beta');
  assert.equal(fact('beta', 'Generation credits / month'), String(plan.monthly_grants.generation));
  assert.equal(fact('beta', 'Render credits / month'), String(plan.monthly_grants.render));
  assert.equal(fact('beta', 'Active projects'), String(plan.limits.active_projects));
  // Pro after the dev switch: the Pro column.
  await u.post('/api/dev/approve-user', { email: 'demo@cliploop.test', plan: 'starter' });
  const pro = (await u.get('/api/me/plan')).body;
  assert.equal(pro.plan.id, 'starter');
  assert.equal(fact('pro', 'Generation credits / month'), String(pro.monthly_grants.generation));
  assert.equal(fact('pro', 'Render credits / month'), String(pro.monthly_grants.render));
  assert.equal(fact('pro', 'Active projects'), String(pro.limits.active_projects));
  for (const c of plan.costs.filter((x) => x.cost > 0)) {
    assert.ok(text(html).includes(`${c.label}: ${c.cost} ${c.kind} credit`), c.label);
  }
  assert.match(html, /\$5 <span class="muted small">per month/);
  await u.post('/api/dev/approve-user', { email: 'demo@cliploop.test', plan: 'beta' });
});

test('/pricing describes the grant the way the ledger applies it (unused credits carry over)', async () => {
  const html = await (await fetch(off.url + '/pricing')).text();
  assert.match(html, /unused credits carry over/);
  assert.match(html, /While the beta is invite-only, a free account waits on the list/, 'INVITE_ONLY_MODE defaults to true');
  assert.doesNotMatch(html, /do not roll over/);
});

test('/pricing Pro button: unavailable without billing, sign-up link signed out, checkout signed in', async () => {
  let html = await (await fetch(off.url + '/pricing')).text();
  assert.match(html, /Checkout is not available on this server/);
  assert.doesNotMatch(html, /id="pro-checkout"/);

  let r = await fetch(on.url + '/pricing');
  html = await r.text();
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  assert.match(html, /<a class="button block" id="pro-checkout" href="\/signup\.html\?next=%2Fpricing%3Fcheckout%3D1">/);
  assert.doesNotMatch(html, /csrf-token/);

  const u = apiClient(on.url);
  await u.signup('buyer@example.com');
  r = await fetch(on.url + '/pricing', { headers: { cookie: u.cookie } });
  html = await r.text();
  assert.equal(r.headers.get('cache-control'), 'private, no-store');
  assert.match(html, /<button class="button block" type="button" id="pro-checkout" data-signed-in>/);
  const csrf = /<meta name="csrf-token" content="([0-9a-f]+)">/.exec(html)?.[1];
  assert.equal(csrf, u.csrf, 'the page carries the session\'s CSRF token');
  assert.match(html, /Signed in as buyer@example\.com/);
  // A forged cookie is just a signed-out visitor.
  html = await (await fetch(on.url + '/pricing', { headers: { cookie: 'cliploop_session=' + 'a'.repeat(64) } })).text();
  assert.match(html, /href="\/signup\.html\?next=/);
});

test('the request-access page posts the fields the API accepts', async () => {
  const html = await (await fetch(off.url + '/request-access')).text();
  for (const name of ['name', 'email', 'business', 'channels', 'note']) assert.match(html, new RegExp(`name="${name}"`), name);
  assert.match(html, /<script type="module" src="\/assets\/js\/public\.[0-9a-f]{10}\.js">/);
});

test('the request-access form works without JavaScript (urlencoded POST → a page)', async () => {
  const { psql } = await import('./lib/harness.mjs');
  const post = (body) => fetch(off.url + '/request-access', {
    method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', origin: off.url },
  });
  let r = await post('name=Ngozi&email=ngozi%40example.com&business=Small+chops+%26+drinks&channels=instagram&channels=whatsapp&note=');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  let html = await r.text();
  assert.match(html, /<div class="status ok" id="request-done" role="status" >/);
  assert.match(html, /<form id="request-form"[^>]* hidden>/);
  const rows = psql(db.url, "SELECT name, business, channels::text FROM access_requests WHERE email = 'ngozi@example.com'");
  assert.deepEqual(rows, [['Ngozi', 'Small chops & drinks', '{instagram,whatsapp}']]);
  r = await post('email=not-an-email');
  assert.equal(r.status, 422);
  html = await r.text();
  assert.match(html, /<p class="status error" role="alert">Enter a valid email address<\/p>/);
  assert.doesNotMatch(html, /<form id="request-form"[^>]* hidden>/);
  // A cross-site form post is refused like the API's.
  r = await fetch(off.url + '/request-access', { method: 'POST', body: 'email=x%40example.com',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' } });
  assert.equal(r.status, 403);
});

test('/billing/success says whether Pro is on yet and refreshes itself while waiting (no script)', async () => {
  let html = await (await fetch(on.url + '/billing/success')).text();
  assert.match(html, /Log in to see your plan/);
  assert.doesNotMatch(html, /http-equiv="refresh"/);
  const u = apiClient(on.url);
  await u.signup('waiting-for-pro@example.com');
  const get = async (q = '') => {
    const r = await fetch(on.url + '/billing/success' + q, { headers: { cookie: u.cookie } });
    assert.equal(r.headers.get('cache-control'), 'private, no-store');
    return r.text();
  };
  html = await get();
  assert.match(html, /Waiting for the payment confirmation/);
  assert.match(html, /<meta http-equiv="refresh" content="5; url=\/billing\/success\?n=1">/);
  html = await get('?n=23');
  assert.match(html, /url=\/billing\/success\?n=24/);
  html = await get('?n=24');
  assert.match(html, /The confirmation has not arrived yet/);
  assert.doesNotMatch(html, /http-equiv="refresh"/);
  const admin = apiClient(on.url);
  await admin.demoLogin();
  await admin.post('/api/dev/approve-user', { email: 'waiting-for-pro@example.com', plan: 'starter' });
  html = await get('?n=3');
  assert.match(html, /Pro is active on your account/);
  assert.doesNotMatch(html, /http-equiv="refresh"/);
});

test('a template edited on disk shows up on the next request (the cache follows the file)', async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { ROOT } = await import('./lib/harness.mjs');
  const web = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-web-'));
  fs.cpSync(path.join(ROOT, 'web'), web, { recursive: true });
  const s = await startServer({ dbUrl: db.url, migrate: false, env: { CLIPLOOP_WEB_DIR: web } });
  try {
    const terms = path.join(web, 'site', 'terms.html');
    assert.doesNotMatch(await (await fetch(s.url + '/terms')).text(), /Edited while running/);
    fs.writeFileSync(terms, fs.readFileSync(terms, 'utf8').replace('<h1>Terms of service</h1>', '<h1>Edited while running</h1>'));
    assert.match(await (await fetch(s.url + '/terms')).text(), /<h1>Edited while running<\/h1>/);
    fs.rmSync(terms);
    const gone = await fetch(s.url + '/terms');
    assert.equal(gone.status, 500);
    assert.equal((await gone.json()).error.code, 'internal');
  } finally {
    await s.stop();
    fs.rmSync(web, { recursive: true, force: true });
  }
});
