// Website ingestion end to end: a fixture website served by this test on
// 127.0.0.1, crawled by the real worker through the "ingest.website" job and
// the ingest_web plugin. Asserts exactly which pages were requested (robots.txt
// honoured, same site only, at most 10 pages), the per-page outcomes (too
// large, not HTML, HTTP error, a redirect to a private address refused by the
// guard), the extracted text (boilerplate removed, Latin-1 decoded), progress,
// atomic replacement on re-ingest, and — with loopback not allowed — that the
// guard refuses the start URL itself so nothing reaches the fixture.
//
// The guard normally refuses 127.0.0.1 too; CLIPLOOP_HTTP_ALLOW_LOOPBACK=true
// (tests only) lets the crawler reach the fixture while private, link-local
// and metadata addresses stay refused — which is what the /go-internal
// redirect to 10.0.0.1 checks. The last test uses the narrower
// CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS=<fixture's port> instead, so a redirect
// to 127.0.0.1 on another port can be shown refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { serveFresh, psql, apiClient } from './lib/harness.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The fixture website. `mode` switches content for the re-ingest tests. */
function startSite() {
  const site = { hits: {}, agents: new Set(), mode: 'v1' };
  const page = (title, body, head = '') => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>${head}</head><body>${body}</body></html>`;
  const nav = '<nav><a href="/">Home</a> <a href="/about">About</a> <a href="/menu">Menu</a></nav>';
  const footer = '<footer>© Mama Put Kitchen · <a href="/about">About</a></footer>';
  site.server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const p = url.pathname;
    site.hits[p] = (site.hits[p] || 0) + 1;
    site.agents.add(req.headers['user-agent'] || '');
    const html = (status, body, type = 'text/html; charset=utf-8') => {
      const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
      res.writeHead(status, { 'content-type': type, 'content-length': buf.length });
      res.end(buf);
    };
    if (site.mode === 'down') {
      if (p === '/robots.txt') return html(503, 'maintenance', 'text/plain');
      return html(503, 'down');
    }
    if (site.mode === 'loopback') {
      // For the ALLOW_LOOPBACK_PORTS test: one page redirects to another
      // loopback port (site.trapPort), which the guard must refuse.
      if (p === '/robots.txt') return html(404, 'no robots', 'text/plain');
      if (p === '/') return html(200, page('Loop home', '<main><p>Start here.</p><a href="/a">A</a> <a href="/go-loopback">Admin</a> <a href="/b">B</a></main>'));
      if (p === '/a') return html(200, page('Page A', '<main><p>First page.</p></main>'));
      if (p === '/b') return html(200, page('Page B', '<main><p>Second page.</p></main>'));
      if (p === '/go-loopback') {
        res.writeHead(302, { location: `http://127.0.0.1:${site.trapPort}/admin`, 'content-length': 0 });
        return res.end();
      }
      return html(404, page('Not found', '<p>nothing</p>'));
    }
    if (site.mode === 'v2') {
      if (p === '/robots.txt') return html(404, 'no robots', 'text/plain');
      if (p === '/') return html(200, page('Mama Put v2', `${nav}<main><h1>New look</h1><p>Now delivering across Lagos.</p><a href="/about">About</a></main>`));
      if (p === '/about') return html(200, page('About v2', '<main><p>Second generation of the family.</p></main>'));
      return html(404, page('Not found', '<p>nothing</p>'));
    }
    switch (p) {
      case '/robots.txt':
        return html(200, 'User-agent: *\nDisallow: /private\n\nUser-agent: SomeOtherBot\nDisallow: /\n', 'text/plain');
      case '/':
        return html(200, page('Mama Put Kitchen',
          `<header class="site-header"><a href="/">Logo</a> Call 0800</header>${nav}
           <div class="cookie-banner">We use cookies <button>OK</button></div>
           <main><h1>Home-style   jollof in Yaba</h1>
           <p>Fresh jollof rice,&nbsp;fried plantain and
              peppered chicken every day.</p>
           <ul>
             <li><a href="/menu">See the menu</a></li>
             <li><a href="/private/secret">Staff only</a></li>
             <li><a href="/big">Catering catalogue</a></li>
             <li><a href="/brochure.pdf">Brochure (PDF)</a></li>
             <li><a href="/latin">Desserts</a></li>
             <li><a href="/go-internal">Partner portal</a></li>
             <li><a href="/missing">Old page</a></li>
             <li><a href="http://elsewhere.example/">A friend's site</a></li>
             <li><a href="mailto:hello@mamaput.example">Email us</a></li>
           </ul></main>
           <script>window.tracker = "do not index me";</script><style>.x{color:red}</style>${footer}`,
          '<meta name="description" content="Lunch packs for office workers in Yaba">'));
      case '/about':
        return html(200, page('About us',
          `${nav}<main><h1>About us</h1><p>Family run since 1998.</p><h2 id="team">Team</h2><p>Mama Titi and her sons.</p>
           <a href="/about#team">Team</a> <a href="/contact">Contact</a> <a href="/menu">Menu</a></main>${footer}`));
      case '/menu':
        await sleep(400);
        return html(200, page('Menu', `${nav}<main><h1>Menu</h1><table><tr><td>Jollof pack</td><td>₦2,500</td></tr>
          <tr><td>Party tray</td><td>₦25,000</td></tr></table></main>${footer}`));
      case '/contact': {
        await sleep(1200);
        const extras = [1, 2, 3, 4, 5, 6].map((i) => `<a href="/extra/${i}">Extra ${i}</a>`).join(' ');
        return html(200, page('Contact', `<main><p>WhatsApp +2348012345678</p>${extras}</main>`));
      }
      case '/big':
        return html(200, page('Catalogue', `<p>${'x'.repeat(300 * 1024)}</p>`));
      case '/brochure.pdf':
        return html(200, Buffer.from('%PDF-1.4 fake'), 'application/pdf');
      case '/latin':
        // "Crème brûlée à Lagos" and "Café" in ISO-8859-1 bytes.
        return html(200, Buffer.from('<html><head><title>Caf\xe9</title></head><body><main><h1>Desserts</h1><p>Cr\xe8me br\xfbl\xe9e \xe0 Lagos</p></main></body></html>', 'latin1'),
          'text/html; charset=ISO-8859-1');
      case '/go-internal':
        res.writeHead(302, { location: 'http://10.0.0.1/admin', 'content-length': 0 });
        return res.end();
      case '/missing':
        return html(404, page('Not found', '<p>gone</p>'));
      default:
        if (p.startsWith('/extra/')) return html(200, page(`Extra ${p.slice(7)}`, `<main><p>Extra page ${p.slice(7)}</p></main>`));
        if (p.startsWith('/private')) return html(200, page('Secret', '<p>secret staff notes</p>'));
        return html(404, page('Not found', '<p>nothing</p>'));
    }
  });
  return new Promise((resolve) => site.server.listen(0, '127.0.0.1', () => {
    site.url = `http://127.0.0.1:${site.server.address().port}`;
    resolve(site);
  }));
}

let db, srv, site;

before(async () => {
  site = await startSite();
  ({ db, srv } = await serveFresh('ingest', {
    CLIPLOOP_SCRYPT_LOG_N: '10', CLIPLOOP_WORKERS: '1', CLIPLOOP_HTTP_ALLOW_LOOPBACK: 'true',
    INGEST_WEB_MAX_PAGE_BYTES: String(200 * 1024),
  }));
});

after(async () => {
  if (srv) await srv.stop();
  if (db) db.drop();
  if (site) site.server.close();
});

async function betaUser(url) {
  const email = `ing_${Math.random().toString(36).slice(2, 8)}@example.com`;
  const u = apiClient(url);
  assert.equal((await u.signup(email)).status, 201);
  assert.equal((await apiClient(url).post('/api/dev/approve-user', { email, plan: 'beta' })).status, 200);
  return u;
}

/** Poll the ingestion until it ends; returns [final run, statuses seen while running]. */
async function waitRun(u, pid, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  const seen = [];
  for (;;) {
    const r = await u.get(`/api/projects/${pid}/ingestion`);
    assert.equal(r.status, 200, r.text);
    const run = r.body.run;
    if (run && (run.status === 'completed' || run.status === 'failed')) return [run, seen];
    if (run) seen.push({ status: run.status, fetched: run.pages_fetched, total: run.pages_total });
    if (Date.now() > end) throw new Error(`ingestion did not finish: ${r.text}\n${srv.proc.log}`);
    await sleep(100);
  }
}

let project, user, firstDocIds;

test('ingesting the fixture site fetches exactly the allowed same-site pages, at most 10', async () => {
  user = await betaUser(srv.url);
  project = (await user.post('/api/projects', { name: 'Mama Put', project_type: 'business', website_url: site.url + '/' })).body;
  const r = await user.post(`/api/projects/${project.id}/ingest`);
  assert.equal(r.status, 202, r.text);
  assert.equal(r.body.created, true);
  assert.equal(r.body.run.status, 'queued');
  assert.equal(r.body.run.start_url, site.url + '/');
  assert.ok(r.body.run.job_id > 0);
  // A second request while it runs returns the same run instead of a new one.
  const again = await user.post(`/api/projects/${project.id}/ingest`);
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.created, false);
  assert.equal(again.body.run.id, r.body.run.id);

  const [run, seen] = await waitRun(user, project.id);
  assert.equal(run.status, 'completed', JSON.stringify(run));
  assert.ok(seen.some((s) => s.status === 'running' && s.fetched >= 1 && s.total >= s.fetched),
    `progress was visible while running: ${JSON.stringify(seen)}`);
  assert.equal(run.pages_fetched, 10);
  assert.equal(run.pages_total, 10);
  assert.equal(run.documents, 6);

  // Exactly these requests reached the site, once each.
  assert.deepEqual(site.hits, {
    '/robots.txt': 1, '/': 1, '/about': 1, '/menu': 1, '/big': 1, '/brochure.pdf': 1, '/latin': 1,
    '/go-internal': 1, '/missing': 1, '/contact': 1, '/extra/1': 1,
  });
  for (const ua of site.agents) assert.match(ua, /ClipLoop/);

  // Per-page outcomes, in crawl order.
  const outcomes = run.pages.map((p) => [new URL(p.url).pathname, p.outcome]);
  assert.deepEqual(outcomes, [
    ['/', 'ok'], ['/about', 'ok'], ['/menu', 'ok'], ['/private/secret', 'robots_disallowed'], ['/big', 'too_large'],
    ['/brochure.pdf', 'not_html'], ['/latin', 'ok'], ['/go-internal', 'blocked'], ['/missing', 'http_error'],
    ['/contact', 'ok'], ['/extra/1', 'ok'],
  ]);
  const byPath = Object.fromEntries(run.pages.map((p) => [new URL(p.url).pathname, p]));
  assert.match(byPath['/go-internal'].message, /refusing to connect to 10\.0\.0\.1 \(private address\)/);
  assert.equal(byPath['/missing'].http_status, 404);
  assert.equal(byPath['/brochure.pdf'].content_type, 'application/pdf');
  assert.equal(byPath['/'].title, 'Mama Put Kitchen');
});

test('documents hold the readable text: boilerplate removed, whitespace normalized, Latin-1 decoded', async () => {
  const r = await user.get(`/api/projects/${project.id}/documents`);
  assert.equal(r.status, 200);
  const docs = r.body.documents;
  assert.deepEqual(docs.map((d) => new URL(d.url).pathname), ['/', '/about', '/menu', '/latin', '/contact', '/extra/1']);
  firstDocIds = docs.map((d) => d.id);
  const home = (await user.get(`/api/projects/${project.id}/documents/${docs[0].id}`)).body;
  assert.equal(home.title, 'Mama Put Kitchen');
  assert.equal(home.description, 'Lunch packs for office workers in Yaba');
  assert.deepEqual(home.headings, ['Home-style jollof in Yaba']);
  assert.equal(home.text, [
    'Home-style jollof in Yaba',
    'Fresh jollof rice, fried plantain and peppered chicken every day.',
    'See the menu', 'Staff only', 'Catering catalogue', 'Brochure (PDF)', 'Desserts', 'Partner portal', 'Old page',
    "A friend's site", 'Email us',
  ].join('\n'));
  for (const junk of ['cookies', 'tracker', 'color:red', 'Logo', '©']) assert.ok(!home.text.includes(junk), junk);
  const latin = (await user.get(`/api/projects/${project.id}/documents/${docs[3].id}`)).body;
  assert.equal(latin.title, 'Café');
  assert.equal(latin.text, 'Desserts\nCrème brûlée à Lagos');
  assert.equal(latin.charset, 'windows-1252');
  const menu = (await user.get(`/api/projects/${project.id}/documents/${docs[2].id}`)).body;
  assert.equal(menu.text, 'Menu\nJollof pack ₦2,500\nParty tray ₦25,000');
  const about = (await user.get(`/api/projects/${project.id}/documents/${docs[1].id}`)).body;
  assert.deepEqual(about.headings, ['About us', 'Team']);
  // The project shows its document count and the context loader uses them.
  assert.equal((await user.get(`/api/projects/${project.id}`)).body.documents_count, 6);
  const ctx = (await user.get(`/api/projects/${project.id}/context?budget=4000`)).body;
  assert.ok(ctx.documents.length >= 1);
  assert.equal(ctx.documents_total, 6);
});

test('re-ingesting replaces the documents as a set; a failed crawl keeps the previous set', async () => {
  site.mode = 'v2';
  for (const k of Object.keys(site.hits)) delete site.hits[k];
  let r = await user.post(`/api/projects/${project.id}/ingest`);
  assert.equal(r.status, 202, r.text);
  let [run] = await waitRun(user, project.id);
  assert.equal(run.status, 'completed', JSON.stringify(run));
  let docs = (await user.get(`/api/projects/${project.id}/documents`)).body.documents;
  assert.deepEqual(docs.map((d) => d.title), ['Mama Put v2', 'About v2']);
  assert.ok(docs.every((d) => !firstDocIds.includes(d.id)), 'no document of the previous set survives');
  assert.equal(psql(db.url, `SELECT count(DISTINCT run_id) FROM context_documents WHERE project_id = ${project.id}`)[0][0], '1');
  const keep = docs.map((d) => d.id);

  // The site goes down (robots.txt 503 = disallow all): the run fails, documents stay.
  site.mode = 'down';
  for (const k of Object.keys(site.hits)) delete site.hits[k];
  r = await user.post(`/api/projects/${project.id}/ingest`);
  assert.equal(r.status, 202, r.text);
  [run] = await waitRun(user, project.id);
  assert.equal(run.status, 'failed');
  assert.match(run.error, /No page could be ingested/);
  assert.deepEqual(run.pages.map((p) => p.outcome), ['robots_unavailable']);
  assert.deepEqual(site.hits, { '/robots.txt': 1 }, 'nothing but robots.txt was requested');
  docs = (await user.get(`/api/projects/${project.id}/documents`)).body.documents;
  assert.deepEqual(docs.map((d) => d.id), keep);
  site.mode = 'v1';
});

test('with loopback not allowed the guard refuses the start URL itself and nothing reaches the site', async () => {
  const { db: db2, srv: srv2 } = await serveFresh('ingest_guard',
    { CLIPLOOP_SCRYPT_LOG_N: '10', CLIPLOOP_WORKERS: '1', CLIPLOOP_HTTP_ALLOW_LOOPBACK: 'false' });
  try {
    for (const k of Object.keys(site.hits)) delete site.hits[k];
    const u = await betaUser(srv2.url);
    const p = (await u.post('/api/projects', { name: 'Guarded', project_type: 'business', website_url: site.url })).body;
    const r = await u.post(`/api/projects/${p.id}/ingest`);
    assert.equal(r.status, 202, r.text);
    const end = Date.now() + 30000;
    let run;
    for (;;) {
      run = (await u.get(`/api/projects/${p.id}/ingestion`)).body.run;
      if (run.status === 'failed' || run.status === 'completed') break;
      if (Date.now() > end) throw new Error(`did not finish: ${JSON.stringify(run)}`);
      await sleep(100);
    }
    assert.equal(run.status, 'failed');
    assert.equal(run.pages.length, 1);
    assert.equal(run.pages[0].outcome, 'blocked');
    assert.match(run.pages[0].message, /refusing to connect to 127\.0\.0\.1 \(loopback address\)/);
    assert.deepEqual(site.hits, {}, 'no request reached the fixture');
    assert.deepEqual((await u.get(`/api/projects/${p.id}/documents`)).body.documents, []);
    const [[status]] = psql(db2.url, `SELECT status FROM jobs WHERE id = ${run.job_id}`);
    assert.equal(status, 'failed');
  } finally {
    await srv2.stop();
    db2.drop();
  }
});

test('with loopback allowed only for the fixture\'s port, a redirect to another loopback port is blocked', async () => {
  // A trap on another loopback port that would happily serve a page: it must
  // never see a connection.
  const trap = { connections: 0, requests: 0 };
  trap.server = http.createServer((req, res) => {
    trap.requests++;
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><head><title>Admin</title></head><body><main><p>internal admin</p></main></body></html>');
  });
  trap.server.on('connection', () => { trap.connections++; });
  await new Promise((resolve) => trap.server.listen(0, '127.0.0.1', resolve));
  site.trapPort = trap.server.address().port;
  const sitePort = site.server.address().port;
  assert.notEqual(site.trapPort, sitePort);

  const { db: db3, srv: srv3 } = await serveFresh('ingest_ports', {
    CLIPLOOP_SCRYPT_LOG_N: '10', CLIPLOOP_WORKERS: '1',
    CLIPLOOP_HTTP_ALLOW_LOOPBACK: 'false', CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS: String(sitePort),
  });
  try {
    site.mode = 'loopback';
    for (const k of Object.keys(site.hits)) delete site.hits[k];
    const u = await betaUser(srv3.url);
    const p = (await u.post('/api/projects', { name: 'Ports', project_type: 'business', website_url: site.url + '/' })).body;
    const r = await u.post(`/api/projects/${p.id}/ingest`);
    assert.equal(r.status, 202, r.text);
    const [run] = await waitRun(u, p.id);
    assert.equal(run.status, 'completed', JSON.stringify(run));
    assert.deepEqual(run.pages.map((pg) => [new URL(pg.url).pathname, pg.outcome]), [
      ['/', 'ok'], ['/a', 'ok'], ['/go-loopback', 'blocked'], ['/b', 'ok'],
    ]);
    const blocked = run.pages.find((pg) => new URL(pg.url).pathname === '/go-loopback');
    assert.match(blocked.message, /refusing to connect to 127\.0\.0\.1 \(loopback address\)/);
    assert.equal(run.documents, 3);
    assert.deepEqual(site.hits, { '/robots.txt': 1, '/': 1, '/a': 1, '/go-loopback': 1, '/b': 1 });
    assert.equal(trap.connections, 0, 'nothing connected to the other loopback port');
    assert.equal(trap.requests, 0);
    const docs = (await u.get(`/api/projects/${p.id}/documents`)).body.documents;
    assert.deepEqual(docs.map((d) => d.title), ['Loop home', 'Page A', 'Page B']);
  } finally {
    site.mode = 'v1';
    await srv3.stop();
    db3.drop();
    trap.server.closeAllConnections();
    await new Promise((resolve) => trap.server.close(resolve));
  }
});
