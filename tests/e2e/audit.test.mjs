// What outside audits check, kept true by a test, in a real browser at phone
// (390x844) and desktop (1440x900) size, signed out and signed in:
// - axe-core (npm, injected into each page): no WCAG 2.1 A/AA violation on
//   any main page (public site, log-in, sign-up, dashboard, create, a
//   result, chats, a chat, projects, a project, its week, manual queue,
//   settings with transactions); public pages have a meta description; the
//   shell's regions have solid backgrounds.
// - /app's first screen makes at most 3 API calls (/api/me, /api/home,
//   /api/version) and asks for its page module before /api/me answered.
// - Loading /app/chats, a chat, /app and settings on a slow network (300 ms
//   per script and API answer) shifts the layout by less than 0.1 (CLS).
// - Each render has a 360 px JPEG thumbnail beside the full one (made by the
//   render job with the FFmpeg libraries); dashboard tiles use it with srcset
//   and explicit width/height, and the browser picks the small file.
// Screenshots of every audited page land in tests/e2e/artifacts/audit-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { newPage, demoContext, screenshot, problems, DESKTOP, startStudio, apiQuiet, RENDER_WAIT_MS } from './lib/browser.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// A <video>/<img> may cancel a download it no longer needs.
const ALLOWED = [/GET \S+\/api\/assets\/\d+(\?\S*)? net::ERR_ABORTED$/];

let db, srv, storage, browser, studio;
const ids = {};

before(async () => {
  studio = await startStudio('e2e_audit', { env: { CLIPLOOP_WORKERS: '1', CLIPLOOP_JOB_POLL_MS: '100' }, storage: true });
  ({ db, srv, browser, storage } = studio);
  await seed();
});

after(() => studio?.stop());

/* The demo user with a project, a rendered promo, a chat with a reply and this week's pack. */
async function seed() {
  const page = await demoContext(browser, srv.url);
  const call = async (method, p, body, want = [200, 201, 202]) => {
    const r = await page.call(method, p, body);
    assert.ok(want.includes(r.status), `${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const projects = (await call('GET', '/api/projects')).projects;
  let project = projects.find((p) => p.status === 'active');
  if (!project) {
    const r = await call('POST', '/api/projects', { name: 'Mama Put Kitchen', project_type: 'business', business_name: 'Mama Put Kitchen',
      category: 'Restaurant', city: 'Lagos', target_audience: 'Office workers', primary_offer: 'Party trays',
      preferred_channels: ['instagram'], language_style: 'english', timezone: 'Africa/Lagos', onboarding_step: 'done' });
    project = r.project || r;
  }
  ids.project = project.id;
  const { brief } = await call('POST', '/api/create/brief', { project_id: project.id, prompt: 'Half price jollof trays every Friday in Ikeja', channel: 'instagram' });
  const gen = await call('POST', '/api/create/generate', { project_id: project.id, brief, channel: 'instagram', render: true, request_id: 'audit-generate-1' });
  ids.item = gen.content_item_id;
  assert.ok(ids.item, JSON.stringify(gen));
  for (const end = Date.now() + RENDER_WAIT_MS; ;) {
    const it = await call('GET', `/api/content-items/${ids.item}`);
    if (it.assets?.some((a) => a.kind === 'video')) break;
    if (Date.now() > end) assert.fail('the render did not finish: ' + JSON.stringify(it));
    await new Promise((r) => setTimeout(r, 200));
  }
  const chat = await call('POST', '/api/chats', { project_id: project.id });
  ids.chat = chat.id ?? chat.chat?.id;
  await call('POST', `/api/chats/${ids.chat}/messages`, { content: 'What should I post on Friday?', mode: 'chat', request_id: 'audit-chat-1' });
  const cycle = await call('POST', `/api/projects/${project.id}/strategy-cycles`, {});
  ids.cycle = cycle.cycle?.id ?? cycle.id;
  await page.context().close();
}

/** Run axe-core in page: the WCAG 2.0/2.1 A and AA rules. Answers the violations as short lines. */
async function axe(page) {
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
  return found;
}

const PUBLIC = ['/', '/pricing', '/request-access', '/terms', '/privacy', '/login.html', '/signup.html'];
const STUDIO = () => ['/app', '/app/create', `/app/create?item=${ids.item}`, '/app/chats', `/app/chats/${ids.chat}`, '/app/projects',
  `/app/projects/${ids.project}`, `/app/projects/${ids.project}/weeks/current`, '/dashboard/manual-queue', '/dashboard/settings'];

const slug = (p) => p.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '') || 'landing';

async function settle(page, studio) {
  if (studio) await page.waitForFunction(() => document.body.dataset.ready === '1' && !document.getElementById('placeholder'), null, { timeout: 20000 });
  else await page.waitForLoadState('networkidle');
  await apiQuiet(page); // late fills (tracking counts, week status) have landed
}

for (const mobile of [false, true]) {
  const size = mobile ? 'phone' : 'desktop';

  test(`${size}: axe-core finds no WCAG 2.1 A/AA violation on the public pages (signed out)`, async () => {
    const page = await newPage(browser, mobile ? { mobile } : { viewport: DESKTOP });
    const report = [];
    for (const p of PUBLIC) {
      await page.goto(srv.url + p);
      await settle(page, false);
      await screenshot(page, `audit-out-${slug(p)}-${size}`);
      for (const v of await axe(page)) report.push(`${p}: ${v}`);
      const description = await page.locator('meta[name="description"]').getAttribute('content').catch(() => null);
      if (!description || description.length < 50) report.push(`${p}: no meta description (${description})`);
    }
    assert.deepEqual(report, []);
    assert.deepEqual(problems(page, ALLOWED), []);
    await page.context().close();
  });

  test(`${size}: axe-core finds no WCAG 2.1 A/AA violation on the studio pages (signed in)`, async () => {
    const page = await demoContext(browser, srv.url, mobile ? { mobile } : { viewport: DESKTOP });
    const report = [];
    for (const p of [...PUBLIC.slice(0, 2), ...STUDIO()]) {
      await page.goto(srv.url + p);
      await settle(page, p.startsWith('/app') || p.startsWith('/dashboard'));
      await screenshot(page, `audit-in-${slug(p)}-${size}`);
      for (const v of await axe(page)) report.push(`${p}: ${v}`);
      // Each region paints its own solid background (no gradient on the shell that hides the main area's colour from checkers).
      const paint = await page.evaluate(() => ['.shell', '.sidebar', '.main'].map((sel) => {
        const el = document.querySelector(sel);
        return el && [sel, getComputedStyle(el).backgroundImage, getComputedStyle(el).backgroundColor];
      }).filter(Boolean));
      for (const [sel, image, color] of paint) {
        if (image !== 'none' || color === 'rgba(0, 0, 0, 0)') report.push(`${p}: ${sel} background ${image} ${color}`);
      }
    }
    assert.deepEqual(report, []);
    assert.deepEqual(problems(page, ALLOWED), []);
    await page.context().close();
  });
}

/* Layout shifts (CLS: the sum of layout-shift entries without recent input) from the first paint on. */
const CLS_SCRIPT = () => {
  window.__cls = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value;
  }).observe({ type: 'layout-shift', buffered: true });
};

for (const mobile of [false, true]) {
  const size = mobile ? 'phone' : 'desktop';

  test(`${size}: /app's first screen takes at most 3 API calls, /api/me alongside the page's module`, async () => {
    const page = await demoContext(browser, srv.url, mobile ? { mobile } : { viewport: DESKTOP });
    const calls = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith('/api/') && ['fetch', 'xhr'].includes(r.resourceType())) calls.push(r.method() + ' ' + u.pathname + u.search);
    });
    // /api/me is held until the page's module has been asked for (at most
    // 5 s): a page that asked for its module only after the user arrived
    // would never ask while /api/me is held.
    let moduleAsked;
    const asked = new Promise((r) => { moduleAsked = r; });
    page.on('request', (r) => { if (/\/dashboard(\.[0-9a-f]{8,})?\.js$/.test(new URL(r.url()).pathname)) moduleAsked(); });
    let askedWhileHeld = null;
    await page.route('**/api/me', async (route) => {
      if (askedWhileHeld === null) {
        askedWhileHeld = await Promise.race([asked.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
      }
      await route.continue();
    });
    const home = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/home');
    await page.goto(srv.url + '/app');
    await settle(page, true);
    await page.locator('.tiles .tile').first().waitFor();
    // the JSON comes compressed
    assert.equal((await (await home).allHeaders())['content-encoding'], 'gzip');
    console.log(`# ${size} /app API calls: ${calls.length}: ${calls.join(', ')}`);
    assert.ok(calls.length <= 3, calls.join(', '));
    assert.ok(calls.includes('GET /api/home'), calls.join(', '));
    // The page's module is asked for before the user arrives (not after it).
    assert.equal(askedWhileHeld, true, 'dashboard.js was asked for while /api/me was unanswered');
    // what the first screen shows came with that call: counts, this week, credits
    await page.locator('[data-testid="tile-counts"]').first().waitFor();
    assert.match(await page.locator('[data-this-week-status]').textContent(), /this week/);
    await screenshot(page, `audit-home-${size}`, { fullPage: false });
    assert.deepEqual(problems(page, ALLOWED), []);
    await page.context().close();
  });

  test(`${size}: /app/chats and a chat do not shift their layout while loading (CLS < 0.1)`, async () => {
    const page = await demoContext(browser, srv.url, mobile ? { mobile } : { viewport: DESKTOP });
    await page.addInitScript(CLS_SCRIPT);
    // A slow phone network: every script and API answer arrives 300 ms late, so each loading state gets painted.
    await page.route(/\/(api\/|assets\/js\/)/, async (route) => { await new Promise((r) => setTimeout(r, 300)); await route.continue(); });
    for (const p of ['/app/chats', `/app/chats/${ids.chat}`, '/app', '/dashboard/settings']) {
      await page.goto(srv.url + p);
      await settle(page, true);
      await apiQuiet(page, 500); // every delayed answer is in and painted
      const cls = await page.evaluate(() => window.__cls);
      console.log(`# ${size} ${p} CLS ${cls.toFixed(4)}`);
      assert.ok(cls < 0.1, `${p}: CLS ${cls}`);
    }
    await screenshot(page, `audit-chats-${size}`, { fullPage: false });
    assert.deepEqual(problems(page, ALLOWED), []);
    await page.context().close();
  });
}

test('static files: fingerprinted names cached for a year, plain names briefly with an ETag (304 on revalidation), gzip on text', async () => {
  const html = await (await fetch(srv.url + '/app', { headers: { 'accept-encoding': 'identity' } })).text();
  const refs = [...html.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  assert.ok(refs.length >= 5, html);
  for (const r of refs) assert.match(r, /\.[0-9a-f]{10}\.(css|js|svg|png)$/, r);
  // The import map names every module's fingerprinted file; the route's module and its imports are preloaded.
  const map = JSON.parse(/<script type="importmap">(.*?)<\/script>/s.exec(html)[1]).imports;
  assert.match(map['/assets/js/api.js'], /^\/assets\/js\/api\.[0-9a-f]{10}\.js$/);
  const preloads = [...html.matchAll(/rel="modulepreload" href="\/assets\/js\/([a-z-]+)\./g)].map((m) => m[1]).sort();
  assert.deepEqual(preloads, ['api', 'app', 'dashboard', 'search', 'tracking', 'ui']);
  const chatsHtml = await (await fetch(srv.url + '/app/chats/5')).text();
  assert.match(chatsHtml, /rel="modulepreload" href="\/assets\/js\/chat\.[0-9a-f]{10}\.js"/);
  assert.doesNotMatch(chatsHtml, /modulepreload" href="\/assets\/js\/dashboard\./);

  const css = refs.find((r) => r.endsWith('.css'));
  let r = await fetch(srv.url + css, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.equal(r.headers.get('content-encoding'), 'gzip');
  assert.match(await r.text(), /--bg/);
  r = await fetch(srv.url + '/assets/css/app.css', { headers: { 'accept-encoding': 'identity' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=300');
  const etag = r.headers.get('etag');
  assert.ok(etag);
  r = await fetch(srv.url + '/assets/css/app.css', { headers: { 'if-none-match': etag } });
  assert.equal(r.status, 304);
  // a name with a wrong hash is not an asset
  r = await fetch(srv.url + '/assets/css/app.0000000000.css');
  assert.equal(r.status, 404);
  // gzip on JavaScript and pages (JSON: the first-screen test)
  for (const p of [map['/assets/js/api.js'], '/app', '/login.html', '/pricing']) {
    r = await fetch(srv.url + p, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(r.headers.get('content-encoding'), 'gzip', p);
    assert.equal(r.status, 200, p);
  }
});

for (const mobile of [false, true]) {
  const size = mobile ? 'phone' : 'desktop';
  test(`${size}: the studio loads every module under its fingerprinted name (import map), never its plain name`, async () => {
    const page = await demoContext(browser, srv.url, mobile ? { mobile } : { viewport: DESKTOP });
    const modules = [];
    page.on('request', (r) => { const u = new URL(r.url()); if (u.pathname.startsWith('/assets/')) modules.push(u.pathname); });
    for (const p of ['/app', `/app/projects/${ids.project}/weeks/current`, `/app/chats/${ids.chat}`]) {
      await page.goto(srv.url + p);
      await settle(page, true);
    }
    assert.ok(modules.some((m) => /\/js\/week\.[0-9a-f]{10}\.js$/.test(m)), modules.join(' '));
    for (const m of modules) assert.match(m, /\.[0-9a-f]{10}\.[a-z0-9]+$/, m);
    assert.deepEqual(problems(page, ALLOWED), []);
    await page.context().close();
  });
}

for (const mobile of [false, true]) {
  const size = mobile ? 'phone' : 'desktop';
  test(`${size}: each render has a 360 px thumbnail beside the full one; tiles use it with srcset and their size`, async () => {
    const page = await demoContext(browser, srv.url, mobile ? { mobile } : { viewport: DESKTOP });
    const item = (await page.call('GET', `/api/content-items/${ids.item}`)).body;
    const full = item.assets.find((a) => a.kind === 'thumbnail');
    const small = item.assets.find((a) => a.kind === 'thumbnail_small');
    assert.ok(full && small, JSON.stringify(item.assets));
    assert.equal(small.render_seq, full.render_seq);
    assert.equal(small.mime, 'image/jpeg');
    console.log(`# ${size}: thumbnail ${full.bytes} bytes, small thumbnail ${small.bytes} bytes`);
    assert.ok(small.bytes < full.bytes / 3, `small ${small.bytes} bytes, full ${full.bytes}`);
    await page.goto(srv.url + '/app');
    await settle(page, true);
    const img = page.locator(`.tile[data-item="${ids.item}"] img`);
    await img.waitFor();
    await img.evaluate((el) => (el.complete ? null : new Promise((r) => { el.onload = r; })));
    const got = await img.evaluate(async (el) => {
      const bmp = await createImageBitmap(await (await fetch(el.currentSrc)).blob()); // the file's pixels (naturalWidth is scaled by srcset)
      return { w: bmp.width, h: bmp.height, src: el.currentSrc,
        srcset: el.getAttribute('srcset'), width: el.getAttribute('width'), height: el.getAttribute('height') };
    });
    assert.equal(got.width, '360');
    assert.equal(got.height, '640');
    assert.ok(got.srcset.includes(`${small.url} 360w`) && got.srcset.includes(`${full.url} 1080w`), got.srcset);
    // at this size the browser picks the small file: a 360x640 JPEG
    assert.ok(got.src.endsWith(small.url), got.src);
    assert.deepEqual([got.w, got.h], [360, 640]);
    await img.scrollIntoViewIfNeeded();
    await screenshot(page, `audit-thumbs-${size}`, { fullPage: false });
    assert.deepEqual(problems(page, ALLOWED), []);
    await page.context().close();
  });
}
