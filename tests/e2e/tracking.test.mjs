// The site script across origins in Chromium, and the studio's tracking
// views at desktop and phone size.
//   - ClipLoop serves the studio, /r/<slug> and /api/tracking/script.js;
//   - a "shop" (a second local server, another port = another origin) is the
//     project's website: its landing page loads the script, which keeps
//     clp_click in localStorage and a first-party cookie and posts a sign-up
//     conversion cross-origin (CORS preflight included);
//   - a third origin that the project does not allow is refused by CORS.
// Then the studio shows the link with its counts and the project's Tracking
// section (snippet, live last events). Screenshots: tests/e2e/artifacts/tracking-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createDatabase, startServer, psql, until } from '../api/lib/harness.mjs';
import path from 'node:path';
import { launch, screenshot, problems, demoContext, ARTIFACTS } from './lib/browser.mjs';

let db, srv, browser, shop, other;

const DRAFT = {
  hook: 'Weekend jollof, half price', script: ['Smoky party jollof', 'Half price all weekend', 'Order today'],
  caption: 'Half-price jollof this weekend only at Mama Put Kitchen.', cta: 'Order now', caption_hint: 'warm',
  hashtags: ['#jollof', '#lagosfood'], variants: {},
};

/** A tiny site on its own port: every path answers the landing page, which loads ClipLoop's script. */
function site(keyRef) {
  const server = createServer((req, res) => {
    const page = `<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>
      <script src="${srv.url}/api/tracking/script.js" data-key="${keyRef.key}"></script></head>
      <body><h1>Mama Put Kitchen</h1><button id="signup">Sign up</button><pre id="out"></pre>
      <script>
        document.getElementById('signup').addEventListener('click', () => {
          ClipLoopTracking.conversion({ eventType: 'signup', externalUserId: 'u-42', eventId: 'signup-u-42' })
            .then((r) => { document.getElementById('out').textContent = JSON.stringify(r); })
            .catch((e) => { document.getElementById('out').textContent = 'error: ' + e.message; });
        });
      </script></body></html>`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` })));
}

const keyRef = { key: '' };
let projectId = null;

before(async () => {
  db = createDatabase('e2e_tracking');
  srv = await startServer({ dbUrl: db.url, env: { MOCK_MODE: 'true', CLIPLOOP_TRACKING_FLUSH_MS: '50' } });
  shop = await site(keyRef);
  other = await site(keyRef);
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  shop?.server.close();
  other?.server.close();
  if (srv) await srv.stop();
  if (db) db.drop();
});

async function setup(page) {
  const login = await page.context().request.post(srv.url + '/api/dev/demo-login', { data: {} });
  const csrf = (await login.json()).csrf_token;
  const post = async (path, data) => {
    const r = await page.context().request.post(srv.url + path, { data, headers: { 'x-csrf-token': csrf } });
    assert.ok(r.status() < 300, `${path}: ${r.status()} ${await r.text()}`);
    return r.json();
  };
  // The demo user's plan allows one active project: made once, reused.
  if (!projectId) {
    const p = await post('/api/projects', {
      name: 'Mama Put Kitchen', project_type: 'business', business_name: 'Mama Put Kitchen', category: 'Restaurant',
      city: 'Lagos', target_audience: 'Office workers', primary_offer: 'Party jollof trays', preferred_channels: ['tiktok'],
      language_style: 'english', website_url: `${shop.url}/landing?ref=bio`,
    });
    projectId = p.project?.id ?? p.id;
  }
  const pid = projectId;
  psql(db.url, `UPDATE projects SET website_url = '${shop.url}/landing?ref=bio', onboarding_step = 'done', onboarded_at = now() WHERE id = ${pid}`);
  const it = await post('/api/content-items', { project_id: pid, channel: 'tiktok', draft: DRAFT, title: 'Weekend jollof' });
  const none = await post('/api/content-items', { project_id: pid, channel: 'whatsapp', draft: DRAFT, title: 'No link yet' });
  const settings = await (await page.context().request.get(`${srv.url}/api/projects/${pid}/tracking`)).json();
  return { pid, item: it, none, settings, csrf };
}

test('script.js across two origins: click id kept, sign-up attributed to the click; an unlisted origin is refused', async () => {
  const page = await demoContext(browser, srv.url);
  const { pid, item, settings } = await setup(page);
  keyRef.key = settings.publishable_key;
  assert.deepEqual(settings.allowed_origins, [shop.url]);

  // Follow the tracking link: ClipLoop redirects to the shop with clp_click.
  await page.goto(`${srv.url}/r/${item.tracking_slug}`);
  await page.waitForFunction(() => window.ClipLoopTracking);
  const landed = new URL(page.url());
  assert.equal(landed.origin, shop.url);
  assert.equal(landed.searchParams.get('ref'), 'bio');
  assert.equal(landed.searchParams.get('utm_campaign'), item.tracking_slug);
  const clickId = landed.searchParams.get('clp_click');
  assert.match(clickId, /^[A-Za-z0-9_-]{22}$/);
  assert.equal(await page.evaluate(() => ClipLoopTracking.getClickId()), clickId);
  const stored = await page.evaluate(() => ({ ls: JSON.parse(localStorage.getItem('clp_click')).id, cookie: document.cookie }));
  assert.equal(stored.ls, clickId);
  assert.match(stored.cookie, new RegExp(`clp_click=${clickId}`));
  const cookie = (await page.context().cookies(shop.url)).find((c) => c.name === 'clp_click');
  assert.equal(cookie.sameSite, 'Lax');
  assert.ok(cookie.expires * 1000 - Date.now() > 89 * 86400 * 1000, 'kept for 90 days');

  // Another page of the shop, without the parameter: the id is remembered.
  await page.goto(`${shop.url}/checkout`);
  await page.waitForFunction(() => window.ClipLoopTracking);
  assert.equal(await page.evaluate(() => ClipLoopTracking.getClickId()), clickId);
  await page.click('#signup');
  await page.waitForFunction(() => document.getElementById('out').textContent !== '');
  const out = JSON.parse(await page.textContent('#out'));
  assert.equal(out.event.attributed_via, 'click');
  assert.equal(out.event.attributed_item_id, item.id);
  assert.equal(out.event.click_id, clickId);
  // The JSON POST was preceded by a CORS preflight that the server allowed.
  await srv.proc.waitForLog(/OPTIONS \/api\/track\/conversion 204/);

  // A site the project does not list: the browser blocks the answer (CORS), nothing is stored.
  const stranger = await page.context().newPage();
  await stranger.goto(`${other.url}/landing`);
  await stranger.waitForFunction(() => window.ClipLoopTracking);
  await stranger.click('#signup');
  await stranger.waitForFunction(() => document.getElementById('out').textContent !== '');
  assert.match(await stranger.textContent('#out'), /^error:/);
  assert.equal(psql(db.url, `SELECT count(*) FROM tracking_events WHERE project_id = ${pid}`)[0][0], '1');
  assert.equal(psql(db.url, `SELECT count(*) FROM tracking_clicks WHERE click_id = '${clickId}' AND NOT is_bot`)[0][0], '1');
  assert.deepEqual(problems(page), []);
});

for (const mobile of [false, true]) {
  test(`studio tracking views on ${mobile ? 'a phone' : 'desktop'}: result card link + counts, "add a destination", project Tracking section`, async () => {
    const page = await demoContext(browser, srv.url, { mobile });
    const { pid, item, none } = await setup(page);
    // One click and one revenue entry so the counts are not all zero.
    await fetch(`${srv.url}/r/${item.tracking_slug}`, { redirect: 'manual', headers: { 'user-agent': 'Mozilla/5.0 (iPhone) Safari' } });
    // Clicks are written in batches (CLIPLOOP_TRACKING_FLUSH_MS): wait for the click to be stored, so the
    // card's first read already counts it (the refresh below is checked on its own).
    await until('the click stored', () =>
      psql(db.url, `SELECT count(*) FROM tracking_clicks WHERE content_item_id = ${item.id}`)[0][0] === '1', 10000);

    await page.goto(`${srv.url}/app/create?item=${item.id}`);
    const block = page.getByTestId('tracking-block');
    await block.waitFor();
    assert.equal(await page.getByTestId('tracking-url').inputValue(), `${srv.url}/r/${item.tracking_slug}`);
    await page.waitForFunction(() => document.querySelector('[data-testid="tracking-clicks"]')?.textContent === '1');
    // A click while the card is open shows up without a reload (the counts are read again every 5 s).
    await fetch(`${srv.url}/r/${item.tracking_slug}`, { redirect: 'manual', headers: { 'user-agent': 'Mozilla/5.0 (Android) Chrome' } });
    await page.waitForFunction(() => document.querySelector('[data-testid="tracking-clicks"]')?.textContent === '2', null, { timeout: 15000 });
    await page.getByTestId('copy-link').click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    await screenshot(page, `tracking-result-${mobile ? 'phone' : 'desktop'}`);

    // An item without a destination: the "add a destination" state, then a link that works at once.
    psql(db.url, `UPDATE projects SET website_url = NULL WHERE id = ${pid}`);
    await page.goto(`${srv.url}/app/create?item=${none.id}`);
    await page.getByText("Add a destination for this post's link").waitFor();
    await screenshot(page, `tracking-no-destination-${mobile ? 'phone' : 'desktop'}`);
    await page.getByRole('button', { name: 'Add a destination' }).click();
    await page.getByLabel('Where should the link go?').fill('https://book.example/table');
    await page.getByRole('button', { name: 'Save destination' }).click();
    await page.getByTestId('tracking-url').waitFor();
    const r = await fetch(`${srv.url}/r/${none.tracking_slug}`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.match(r.headers.get('location'), /^https:\/\/book\.example\/table\?utm_source=cliploop/);

    // The project page's Tracking section: snippet with the key, live last events, a secret key shown once.
    await page.goto(`${srv.url}/app/projects/${pid}`);
    const section = page.locator('[data-tracking-section]');
    await section.getByTestId('tracking-snippet').waitFor();
    assert.match(await section.getByTestId('tracking-snippet').inputValue(), /data-key="clp_pk_/);
    await section.getByTestId('tracking-events').waitFor();
    assert.ok(await section.getByTestId('tracking-events').getByText('Click').count() >= 1);
    page.on('dialog', (d) => d.accept()); // rotating asks first (the desktop run made a key already)
    await section.getByRole('button', { name: /^(Create|Rotate) secret key$/ }).click();
    const secret = await section.getByTestId('new-secret-key').inputValue();
    assert.match(secret, /^clp_sk_/);
    await section.getByLabel('Amount').fill('49.99');
    await section.getByRole('button', { name: 'Record sale' }).click();
    await section.getByText('Recorded').waitFor();
    await section.getByTestId('tracking-events').getByText('Revenue').first().waitFor();
    await section.scrollIntoViewIfNeeded();
    await screenshot(page, `tracking-project-${mobile ? 'phone' : 'desktop'}`);
    await section.screenshot({ path: path.join(ARTIFACTS, `tracking-section-${mobile ? 'phone' : 'desktop'}.png`) });

    // Home: the tiles carry the counts and a copy button.
    await page.goto(`${srv.url}/app`);
    await page.getByTestId('tile-counts').first().waitFor();
    await screenshot(page, `tracking-home-${mobile ? 'phone' : 'desktop'}`);
    assert.deepEqual(problems(page, [/favicon/]), []);
  });
}
