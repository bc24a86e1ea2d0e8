// Tracking links and attribution over HTTP against the real binary and
// Postgres: /r/<slug> redirects (parameters, the destination's own query and
// fragment, HEAD, bots, unknown slugs, items without a destination,
// destination changes seen at once), the site script, conversions (keys,
// CORS preflight, idempotency, attribution order, cross-project refusal,
// rate limit) and revenue (secret key or owner only, validation).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { createDatabase, startServer, apiClient, psql, betaUser } from './lib/harness.mjs';
import { DRAFT as PUBLISH_DRAFT, PROJECT as PUBLISH_PROJECT } from './lib/publishing.mjs';

let db, srv;

const DRAFT = { ...PUBLISH_DRAFT, variants: {} };

const PROJECT = { ...PUBLISH_PROJECT, preferred_channels: ['tiktok'] };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const count = (sql) => Number(psql(db.url, sql)[0][0]);

const signedIn = (email) => betaUser(srv.url, email);

async function project(c, extra = {}) {
  const p = await c.post('/api/projects', { ...PROJECT, ...extra });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  return p.body.project?.id ?? p.body.id;
}

async function item(c, projectId) {
  const r = await c.post('/api/content-items', { project_id: projectId, channel: 'tiktok', draft: DRAFT, title: 'Jollof' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

const go = (path, opts = {}) => fetch(srv.url + path, { redirect: 'manual', ...opts });

/** Wait until the writer stored n click rows matching where. */
async function rows(where, n, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const k = count(`SELECT count(*) FROM tracking_clicks WHERE ${where}`);
    if (k >= n || Date.now() > end) return k;
    await sleep(50);
  }
}

before(async () => {
  db = createDatabase('tracking');
  srv = await startServer({
    dbUrl: db.url,
    env: {
      MOCK_MODE: 'true', PUBLIC_BASE_URL: 'https://clp.example', CLIPLOOP_TRACKING_FLUSH_MS: '50',
      CLIPLOOP_TRACKING_RATE_PER_IP: '1000000', CLIPLOOP_TRACKING_RATE_PER_KEY: '25',
    },
  });
});

after(async () => {
  if (srv) await srv.stop();
  if (db) db.drop();
});

test('every item gets an unguessable slug; existing rows were backfilled by the migration', async () => {
  const c = await signedIn('slugs@example.com');
  const pid = await project(c);
  const a = await item(c, pid);
  const b = await item(c, pid);
  for (const x of [a, b]) assert.match(x.tracking_slug, /^[0-9A-Za-z]{10}$/);
  assert.notEqual(a.tracking_slug, b.tracking_slug);
  // A row inserted without a slug (any code path) gets one from the column default.
  psql(db.url, `INSERT INTO content_items (user_id, project_id, channel, draft) SELECT user_id, project_id, channel, draft FROM content_items WHERE id = ${a.id}`);
  assert.equal(count('SELECT count(*) FROM content_items WHERE tracking_slug IS NULL'), 0);
  assert.equal(count("SELECT count(DISTINCT tracking_slug) FROM content_items"), count('SELECT count(*) FROM content_items'));
  const t = await c.get(`/api/content-items/${a.id}/tracking`);
  assert.equal(t.status, 200, JSON.stringify(t.body));
  assert.equal(t.body.url, `https://clp.example/r/${a.tracking_slug}`);
});

test('GET /r/<slug>: 302 with utm/clp parameters, the destination query and fragment kept, one click row', async () => {
  const c = await signedIn('redirect@example.com');
  const pid = await project(c, { website_url: 'https://shop.example/landing?ref=bio&utm_source=instagram#menu' });
  const it = await item(c, pid);
  const r = await go(`/r/${it.tracking_slug}`, { headers: { 'user-agent': 'Mozilla/5.0 (iPhone) Safari/604.1', referer: 'https://l.instagram.com/' } });
  assert.equal(r.status, 302);
  const loc = new URL(r.headers.get('location'));
  assert.equal(loc.origin + loc.pathname, 'https://shop.example/landing');
  assert.equal(loc.hash, '#menu');
  const q = loc.searchParams;
  assert.equal(q.get('ref'), 'bio');
  assert.deepEqual(q.getAll('utm_source'), ['instagram'], 'the owner\'s utm_source is left alone');
  assert.equal(q.get('utm_medium'), 'short_form');
  assert.equal(q.get('utm_campaign'), it.tracking_slug);
  assert.equal(q.get('clp_post'), String(it.id));
  const clickId = q.get('clp_click');
  assert.match(clickId, /^[A-Za-z0-9_-]{22}$/);
  assert.equal(r.headers.get('cache-control'), 'no-store');

  assert.equal(await rows(`click_id = '${clickId}'`, 1), 1);
  const [row] = psql(db.url, `SELECT content_item_id, project_id, is_bot, user_agent, referer, length(visitor_hash) FROM tracking_clicks WHERE click_id = '${clickId}'`);
  assert.deepEqual(row, [String(it.id), String(pid), 'f', 'Mozilla/5.0 (iPhone) Safari/604.1', 'https://l.instagram.com/', '32']);

  // A second request (now from the cache) gets a different click id.
  const r2 = await go(`/r/${it.tracking_slug}`);
  const id2 = new URL(r2.headers.get('location')).searchParams.get('clp_click');
  assert.notEqual(id2, clickId);
  assert.equal(await rows(`content_item_id = ${it.id}`, 2), 2);

  // HEAD is answered (302) without counting.
  const h = await go(`/r/${it.tracking_slug}`, { method: 'HEAD' });
  assert.equal(h.status, 302);
  await sleep(300);
  assert.equal(count(`SELECT count(*) FROM tracking_clicks WHERE content_item_id = ${it.id}`), 2);
});

test('user agents and referers are stored exactly: tabs, backslashes, quotes and non-ASCII kept, invalid UTF-8 as "?"', async () => {
  const c = await signedIn('agents@example.com');
  const pid = await project(c, { website_url: 'https://agents.example' });
  const it = await item(c, pid);
  const send = (headers) => new Promise((resolve, reject) => {
    const req = request(`${srv.url}/r/${it.tracking_slug}`, { headers }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', reject);
    req.end();
  });
  const ua = 'Agent\tone \\N "quoted" {a,b} caf\u00e9 \u65e5\u672c';
  // node writes header strings as latin1: UTF-8 bytes go in as their latin1 code points,
  // and a lone 0xff byte is not valid UTF-8.
  assert.equal(await send({ 'user-agent': Buffer.from(ua, 'utf8').toString('latin1'), referer: 'https://r.example/a\\b' }), 302);
  assert.equal(await send({ 'user-agent': 'bad \xff byte' }), 302);
  assert.equal(await rows(`content_item_id = ${it.id}`, 2), 2);
  const got = psql(db.url, `SELECT replace(user_agent, chr(9), '<TAB>'), coalesce(referer, '<null>') FROM tracking_clicks WHERE content_item_id = ${it.id} ORDER BY clicked_at`);
  assert.deepEqual(got, [[ua.replace('\t', '<TAB>'), 'https://r.example/a\\b'], ['bad ? byte', '<null>']]);
});

test('a click whose item is deleted before its batch is written is not stored', async () => {
  const c = await signedIn('deleted@example.com');
  const pid = await project(c, { website_url: 'https://gone.example' });
  const it = await item(c, pid);
  const keep = await item(c, pid);
  // A second server on the same database whose writer waits 1.5 s between batches.
  const slow = await startServer({ dbUrl: db.url, env: { MOCK_MODE: 'true', CLIPLOOP_TRACKING_FLUSH_MS: '1500' } });
  try {
    const a = await fetch(`${slow.url}/r/${it.tracking_slug}`, { redirect: 'manual' });
    const b = await fetch(`${slow.url}/r/${keep.tracking_slug}`, { redirect: 'manual' });
    assert.equal(a.status, 302);
    assert.equal(b.status, 302);
    psql(db.url, `DELETE FROM content_items WHERE id = ${it.id}`);
    assert.equal(await rows(`content_item_id = ${keep.id}`, 1), 1, 'the other item\'s click is written');
    assert.equal(count(`SELECT count(*) FROM tracking_clicks WHERE content_item_id = ${it.id}`), 0);
  } finally {
    await slow.stop();
  }
});

test('redirects keep the connection alive (an empty 302 body used to close it) and deleting the item deletes its clicks', async () => {
  const c = await signedIn('keepalive@example.com');
  const pid = await project(c, { website_url: 'https://ka.example' });
  const it = await item(c, pid);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = () => new Promise((resolve, reject) => {
    const req = request(`${srv.url}/r/${it.tracking_slug}`, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection, reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
  const first = await get();
  const second = await get();
  agent.destroy();
  assert.equal(first.status, 302);
  assert.equal(first.connection, 'keep-alive');
  assert.equal(second.reused, true, 'the second redirect reused the connection');
  assert.equal(await rows(`content_item_id = ${it.id}`, 2), 2);
  psql(db.url, `DELETE FROM content_items WHERE id = ${it.id}`);
  assert.equal(count(`SELECT count(*) FROM tracking_clicks WHERE content_item_id = ${it.id}`), 0);
});

test('a destination without a query gets "?"; the item CTA link wins over the website and changes are seen at once', async () => {
  const c = await signedIn('dest@example.com');
  const pid = await project(c, { website_url: 'https://site.example' });
  const it = await item(c, pid);
  let r = await go(`/r/${it.tracking_slug}`);
  let loc = r.headers.get('location');
  assert.match(loc, /^https:\/\/site\.example\?utm_source=cliploop&utm_medium=short_form&utm_campaign=\w+&clp_post=\d+&clp_click=[\w-]{22}$/);

  // The item's own CTA link, set while the slug is cached, is used by the very next request.
  let d = await c.request('PUT', `/api/content-items/${it.id}/destination`, { cta_url: 'https://book.example/table?x=1' });
  assert.equal(d.status, 200, JSON.stringify(d.body));
  assert.equal(d.body.destination_source, 'item');
  r = await go(`/r/${it.tracking_slug}`);
  assert.match(r.headers.get('location'), /^https:\/\/book\.example\/table\?x=1&utm_source=cliploop&/);

  // Bad destinations are refused with the field named; nothing changes.
  for (const bad of ['javascript:alert(1)', 'book.example', 'https://a b.example', 42]) {
    d = await c.request('PUT', `/api/content-items/${it.id}/destination`, { cta_url: bad });
    assert.equal(d.status, 400, String(bad));
    assert.ok(d.body.error.fields.cta_url);
  }
  r = await go(`/r/${it.tracking_slug}`);
  assert.match(r.headers.get('location'), /^https:\/\/book\.example\/table/);

  // Back to the website; then the website changes (PATCH project): seen at once.
  d = await c.request('PUT', `/api/content-items/${it.id}/destination`, { cta_url: null });
  assert.equal(d.status, 200);
  assert.equal(d.body.destination_source, 'project_website');
  const p = await c.request('PATCH', `/api/projects/${pid}`, { website_url: 'https://new-site.example/shop' });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  r = await go(`/r/${it.tracking_slug}`);
  assert.match(r.headers.get('location'), /^https:\/\/new-site\.example\/shop\?utm_source=/);

  // A change made by another process (NOTIFY from the trigger) reaches the cache too.
  psql(db.url, `UPDATE content_items SET cta_url = 'https://elsewhere.example/' WHERE id = ${it.id}`);
  let seen = false;
  for (let i = 0; i < 40 && !seen; i++) {
    r = await go(`/r/${it.tracking_slug}`);
    seen = r.headers.get('location').startsWith('https://elsewhere.example/?');
    if (!seen) await sleep(50);
  }
  assert.ok(seen, 'the NOTIFY invalidated the cached slug');

  // Another user cannot read or change the item's destination.
  const eve = await signedIn('eve-dest@example.com');
  assert.equal((await eve.request('PUT', `/api/content-items/${it.id}/destination`, { cta_url: 'https://evil.example' })).status, 404);
  assert.equal((await eve.get(`/api/content-items/${it.id}/tracking`)).status, 404);
});

test('no destination: a small 404 page and the studio state; unknown and malformed slugs are 404 pages', async () => {
  const c = await signedIn('nodest@example.com');
  const pid = await project(c);
  const it = await item(c, pid);
  const t = await c.get(`/api/content-items/${it.id}/tracking`);
  assert.equal(t.body.destination, null);
  assert.equal(t.body.destination_source, null);
  for (let i = 0; i < 2; i++) { // miss, then cached
    const r = await go(`/r/${it.tracking_slug}`);
    assert.equal(r.status, 404);
    assert.match(r.headers.get('content-type'), /text\/html/);
    assert.match(await r.text(), /no destination yet/);
  }
  for (const slug of ['AbCdEfGh12', 'short', 'bad-slug!!', 'x'.repeat(40)]) {
    const r = await go(`/r/${encodeURIComponent(slug)}`);
    assert.equal(r.status, 404, slug);
    assert.match(await r.text(), /doesn't exist/);
  }
  await sleep(200);
  assert.equal(count(`SELECT count(*) FROM tracking_clicks WHERE content_item_id = ${it.id}`), 0);
});

test('link-preview bots are redirected but stored as bots, with the matching pattern from the Lua list', async () => {
  const c = await signedIn('bots@example.com');
  const pid = await project(c, { website_url: 'https://bots.example' });
  const it = await item(c, pid);
  const agents = {
    'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)': 'facebookexternalhit',
    'WhatsApp/2.23.20.0 A': 'whatsapp',
    'Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)': 'discordbot',
    'TelegramBot (like TwitterBot)': 'telegrambot',
    'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36 Instagram 310.0': null,
  };
  for (const ua of Object.keys(agents)) {
    const r = await go(`/r/${it.tracking_slug}`, { headers: { 'user-agent': ua } });
    assert.equal(r.status, 302, ua);
  }
  assert.equal(await rows(`content_item_id = ${it.id}`, 5), 5);
  const got = psql(db.url, `SELECT user_agent, is_bot, coalesce(bot_pattern, '') FROM tracking_clicks WHERE content_item_id = ${it.id}`);
  for (const [ua, isBot, pattern] of got) {
    assert.equal(isBot, agents[ua] ? 't' : 'f', ua);
    assert.equal(pattern, agents[ua] || '', ua);
  }
  const t = await c.get(`/api/content-items/${it.id}/tracking`);
  assert.equal(t.body.clicks, 1);
  assert.equal(t.body.bot_clicks, 4);
});

test('script.js: JavaScript with an ETag and a cache lifetime; 304 on a match', async () => {
  const r = await fetch(srv.url + '/api/tracking/script.js');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /javascript/);
  assert.match(r.headers.get('cache-control'), /max-age=\d+/);
  const etag = r.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{16}"$/);
  const body = await r.text();
  assert.match(body, /ClipLoopTracking/);
  assert.match(body, /clp_click/);
  const again = await fetch(srv.url + '/api/tracking/script.js', { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
});

async function trackingSetup(email, website = 'https://shop.example/start') {
  const c = await signedIn(email);
  const pid = await project(c, { website_url: website });
  const it = await item(c, pid);
  const s = await c.get(`/api/projects/${pid}/tracking`);
  assert.equal(s.status, 200, JSON.stringify(s.body));
  return { c, pid, it, pk: s.body.publishable_key, settings: s.body };
}

const conv = (key, body, headers = {}) => fetch(`${srv.url}/api/track/conversion?key=${encodeURIComponent(key)}`, {
  method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body),
}).then(async (r) => ({ status: r.status, headers: r.headers, body: await r.json().catch(() => null) }));

const rev = (headers, body) => fetch(`${srv.url}/api/track/revenue`, {
  method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body),
}).then(async (r) => ({ status: r.status, headers: r.headers, body: await r.json().catch(() => null) }));

test('tracking settings: publishable key, origins from the website by default, secret key shown once, rotation', async () => {
  const { c, pid, pk, settings } = await trackingSetup('settings@example.com', 'https://Shop.Example:443/path');
  assert.match(pk, /^clp_pk_[0-9A-Za-z]{24}$/);
  assert.deepEqual(settings.allowed_origins, ['https://shop.example']);
  assert.equal(settings.origins_from_website, true);
  assert.equal(settings.secret_key, null);
  assert.match(settings.snippet, new RegExp(`data-key="${pk}"`));
  assert.match(settings.snippet, /https:\/\/clp\.example\/api\/tracking\/script\.js/);

  const k = await c.post(`/api/projects/${pid}/tracking/secret-key`);
  assert.equal(k.status, 200);
  assert.match(k.body.new_secret_key, /^clp_sk_[0-9A-Za-z]{32}$/);
  assert.equal(k.body.secret_key.hint, k.body.new_secret_key.slice(-4));
  const again = await c.get(`/api/projects/${pid}/tracking`);
  assert.equal(again.body.new_secret_key, undefined, 'the secret is shown once');
  assert.equal(JSON.stringify(again.body).includes(k.body.new_secret_key), false);
  assert.equal(count(`SELECT count(*) FROM projects WHERE tracking_secret_hash = encode(sha256('${k.body.new_secret_key}'), 'hex')`), 1);

  let o = await c.request('PATCH', `/api/projects/${pid}/tracking`, { allowed_origins: ['https://shop.example', 'http://localhost:8080'] });
  assert.equal(o.status, 200, JSON.stringify(o.body));
  assert.deepEqual(o.body.allowed_origins, ['https://shop.example', 'http://localhost:8080']);
  o = await c.request('PATCH', `/api/projects/${pid}/tracking`, { allowed_origins: ['https://shop.example/path'] });
  assert.equal(o.status, 400);
  assert.ok(o.body.error.fields.allowed_origins);

  const rot = await c.post(`/api/projects/${pid}/tracking/publishable-key`);
  assert.notEqual(rot.body.publishable_key, pk);
  assert.equal((await conv(pk, { eventType: 'signup' })).status, 401, 'the old key stops working');

  const eve = await signedIn('eve-settings@example.com');
  assert.equal((await eve.get(`/api/projects/${pid}/tracking`)).status, 404);
  assert.equal((await eve.post(`/api/projects/${pid}/tracking/secret-key`)).status, 404);
});

test('conversions: CORS for allowed origins (preflight included), attribution click → item → project, idempotency', async () => {
  const { c, pid, it, pk } = await trackingSetup('conv@example.com');
  const other = await item(c, pid);

  // Preflight: allowed origin → 204 with the CORS headers; another origin → 403 without them.
  let pre = await fetch(`${srv.url}/api/track/conversion?key=${pk}`, {
    method: 'OPTIONS', headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'https://shop.example');
  assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
  assert.match(pre.headers.get('access-control-allow-headers'), /content-type/);
  pre = await fetch(`${srv.url}/api/track/conversion?key=${pk}`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
  assert.equal(pre.status, 403);
  assert.equal(pre.headers.get('access-control-allow-origin'), null);
  let r = await conv(pk, { eventType: 'signup' }, { origin: 'https://evil.example' });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'origin_not_allowed');

  // A real click, then a conversion carrying its id (sent at once: the click may still be queued).
  const red = await go(`/r/${it.tracking_slug}`);
  const clickId = new URL(red.headers.get('location')).searchParams.get('clp_click');
  r = await conv(pk, { clickId, contentItemId: other.id, eventType: 'signup', externalUserId: 'u1' }, { origin: 'https://shop.example' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.headers.get('access-control-allow-origin'), 'https://shop.example');
  assert.equal(r.body.event.attributed_via, 'click');
  assert.equal(r.body.event.attributed_item_id, it.id, 'the click wins over contentItemId');

  // Same click, type and user without an eventId: the same event, not a second one.
  r = await conv(pk, { clickId, eventType: 'signup', externalUserId: 'u1' });
  assert.equal(r.status, 200);
  assert.equal(r.body.duplicate, true);
  // By eventId: retried twice at once, stored once.
  const [a, b] = await Promise.all([
    conv(pk, { eventId: 'evt-1', eventType: 'purchase_started', contentItemId: other.id }),
    conv(pk, { eventId: 'evt-1', eventType: 'purchase_started', contentItemId: other.id }),
  ]);
  assert.deepEqual([a.status, b.status].sort(), [200, 201]);
  assert.equal(a.body.event.id, b.body.event.id);
  assert.equal(a.body.event.attributed_via, 'content_item');
  assert.equal(a.body.event.attributed_item_id, other.id);

  // Unknown click id: falls back to contentItemId, then to the project.
  r = await conv(pk, { clickId: 'unknownClickId000000000', contentItemId: other.id, eventType: 'lead' });
  assert.equal(r.status, 201);
  assert.equal(r.body.event.attributed_via, 'content_item');
  r = await conv(pk, { clickId: 'unknownClickId000000001', eventType: 'lead' });
  assert.equal(r.body.event.attributed_via, 'project');
  assert.equal(r.body.event.attributed_item_id, null);
  assert.equal(r.body.event.project_id, pid);

  const t = await c.get(`/api/tracking/items?ids=${it.id},${other.id}`);
  assert.equal(t.status, 200);
  const byId = Object.fromEntries(t.body.items.map((x) => [x.content_item_id, x]));
  assert.equal(byId[it.id].signups, 1);
  assert.equal(byId[it.id].clicks, 1);
  assert.equal(byId[other.id].conversions, 2);
  assert.equal(byId[other.id].signups, 0);

  const ev = await c.get(`/api/projects/${pid}/tracking/events?limit=10`);
  assert.equal(ev.status, 200);
  assert.ok(ev.body.events.some((e) => e.kind === 'click' && e.item_id === it.id));
  assert.ok(ev.body.events.some((e) => e.kind === 'conversion' && e.event_type === 'signup'));
});

test('cross-project ids are refused with 404 and nothing is written', async () => {
  const mine = await trackingSetup('cross-a@example.com');
  const theirs = await trackingSetup('cross-b@example.com');
  const red = await go(`/r/${theirs.it.tracking_slug}`);
  const theirClick = new URL(red.headers.get('location')).searchParams.get('clp_click');
  await rows(`click_id = '${theirClick}'`, 1);
  const before = count('SELECT count(*) FROM tracking_events');
  for (const body of [
    { eventType: 'signup', contentItemId: theirs.it.id },
    { eventType: 'signup', projectId: theirs.pid },
    { eventType: 'signup', clickId: theirClick },
  ]) {
    const r = await conv(mine.pk, body);
    assert.equal(r.status, 404, JSON.stringify(body));
  }
  const k = await mine.c.post(`/api/projects/${mine.pid}/tracking/secret-key`);
  const r = await rev({ authorization: `Bearer ${k.body.new_secret_key}` },
    { amount: 500, currency: 'USD', eventName: 'purchase', source: 'stripe', contentItemId: theirs.it.id });
  assert.equal(r.status, 404);
  // The owner cannot enter revenue on someone else's project either.
  const own = await mine.c.post('/api/track/revenue', { amount: 500, currency: 'USD', eventName: 'purchase', source: 'manual', projectId: theirs.pid });
  assert.equal(own.status, 404);
  assert.equal(count('SELECT count(*) FROM tracking_events'), before);
});

test('revenue: secret key or the signed-in owner, never the browser key; validation names the field; idempotent', async () => {
  const { c, pid, it, pk } = await trackingSetup('rev@example.com');
  const k = (await c.post(`/api/projects/${pid}/tracking/secret-key`)).body.new_secret_key;
  const auth = { authorization: `Bearer ${k}` };
  const good = { amount: 1999, currency: 'usd', eventName: 'purchase', source: 'stripe', contentItemId: it.id, eventId: 'ch_1' };
  const before = count('SELECT count(*) FROM tracking_events');

  // The publishable key, in any place, is refused.
  let r = await fetch(`${srv.url}/api/track/revenue?key=${pk}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(good) });
  assert.equal(r.status, 403);
  r = await rev({ 'x-cliploop-key': pk }, good);
  assert.equal(r.status, 403);
  r = await rev({ authorization: `Bearer ${pk}` }, good);
  assert.equal(r.status, 401);
  r = await rev({}, good);
  assert.equal(r.status, 401);

  const bad = [
    [{ ...good, amount: -5 }, 'amount'], [{ ...good, amount: 0 }, 'amount'], [{ ...good, amount: 12.5 }, 'amount'],
    [{ ...good, amount: '1999' }, 'amount'], [{ ...good, currency: 'XYZ' }, 'currency'], [{ ...good, currency: 5 }, 'currency'],
    [{ ...good, eventName: undefined }, 'eventName'], [{ ...good, eventName: ['x'] }, 'eventName'],
    [{ ...good, source: undefined }, 'source'], [{ ...good, contentItemId: 'abc' }, 'contentItemId'],
    [{ ...good, clickId: 'has spaces' }, 'clickId'], [{ ...good, eventId: 7 }, 'eventId'],
  ];
  for (const [body, field] of bad) {
    r = await rev(auth, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.ok(r.body.error.fields[field], `${field}: ${JSON.stringify(r.body)}`);
  }
  r = await rev(auth, '{"amount": 1');
  assert.equal(r.status, 400);
  r = await rev(auth, JSON.stringify({ ...good, pad: 'x'.repeat(20000) }));
  assert.equal(r.status, 413);
  assert.ok(r.body.error.fields.body);
  const huge = await fetch(`${srv.url}/api/track/revenue`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: 'x'.repeat(5 * 1024 * 1024) }).catch((e) => ({ status: 'reset', e }));
  assert.ok(huge.status === 413 || huge.status === 'reset', String(huge.status));
  assert.equal(count('SELECT count(*) FROM tracking_events'), before, 'nothing half-written');

  r = await rev(auth, good);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.event.amount_minor, 1999);
  assert.equal(r.body.event.currency, 'USD');
  assert.equal(r.body.event.attributed_via, 'content_item');
  r = await rev(auth, good);
  assert.equal(r.status, 200);
  assert.equal(r.body.duplicate, true);

  // The owner in the studio (session + CSRF) may enter revenue by hand.
  r = await c.post('/api/track/revenue', { amount: 5000, currency: 'NGN', eventName: 'manual_sale', source: 'manual', contentItemId: it.id });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const t = await c.get(`/api/content-items/${it.id}/tracking`);
  assert.deepEqual(t.body.revenue, [{ currency: 'NGN', amount_minor: 5000 }, { currency: 'USD', amount_minor: 1999 }]);
  const [[auths]] = psql(db.url, `SELECT string_agg(auth, ',' ORDER BY id) FROM tracking_events WHERE project_id = ${pid}`);
  assert.equal(auths, 'secret_key,session');
});

test('conversions: bad input names the field; the per-key rate limit answers 429 with Retry-After', async () => {
  const { pk, it } = await trackingSetup('limits@example.com');
  let r = await conv(pk, { contentItemId: it.id });
  assert.equal(r.status, 400);
  assert.ok(r.body.error.fields.eventType);
  r = await conv(pk, { eventType: 42 });
  assert.ok(r.body.error.fields.eventType);
  r = await conv(pk, { eventType: 'signup', contentItemId: -3 });
  assert.ok(r.body.error.fields.contentItemId);
  r = await conv(pk, { eventType: 'signup', externalUserId: { id: 1 } });
  assert.ok(r.body.error.fields.externalUserId);
  r = await conv('clp_pk_nope', { eventType: 'signup' });
  assert.equal(r.status, 401);
  r = await fetch(`${srv.url}/api/track/conversion`, { method: 'POST', body: '{"eventType":"signup"}' });
  assert.equal(r.status, 401);

  // CLIPLOOP_TRACKING_RATE_PER_KEY=25 per minute for this server.
  const statuses = [];
  for (let i = 0; i < 30; i++) statuses.push((await conv(pk, { eventType: 'view', eventId: `rl-${i}` })).status);
  assert.ok(statuses.includes(429), statuses.join(','));
  const limited = await conv(pk, { eventType: 'view', eventId: 'rl-x' });
  assert.equal(limited.status, 429);
  assert.match(limited.headers.get('retry-after'), /^\d+$/);
  assert.ok(statuses.filter((s) => s === 201).length <= 25);
});

test('behind a trusted proxy the per-address limit and the visitor hash use the visitor\'s address, not the proxy\'s', async () => {
  const { pk, it } = await trackingSetup('proxied@example.com');
  const proxied = await startServer({
    dbUrl: db.url,
    env: { MOCK_MODE: 'true', CLIPLOOP_TRUSTED_PROXIES: '127.0.0.0/8', CLIPLOOP_TRACKING_RATE_PER_IP: '3', CLIPLOOP_TRACKING_FLUSH_MS: '50' },
  });
  try {
    const send = (xff, i) => fetch(`${proxied.url}/api/track/conversion?key=${encodeURIComponent(pk)}`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': xff },
      body: JSON.stringify({ eventType: 'view', eventId: `px-${xff}-${i}`, contentItemId: it.id }),
    }).then((r) => r.status);
    const a = [];
    for (let i = 0; i < 4; i++) a.push(await send('203.0.113.1', i));
    assert.deepEqual(a, [201, 201, 201, 429], 'the fourth event from one visitor is limited');
    assert.equal(await send('203.0.113.2', 0), 201, 'another visitor behind the same proxy is not');

    for (const xff of ['198.51.100.7', '198.51.100.8']) {
      const r = await fetch(`${proxied.url}/r/${it.tracking_slug}`, { redirect: 'manual', headers: { 'x-forwarded-for': xff, 'user-agent': 'same agent' } });
      assert.equal(r.status, 302);
    }
    assert.equal(await rows(`content_item_id = ${it.id} AND user_agent = 'same agent'`, 2), 2);
    assert.equal(count(`SELECT count(DISTINCT visitor_hash) FROM tracking_clicks WHERE content_item_id = ${it.id} AND user_agent = 'same agent'`), 2,
      'two visitors behind one proxy are two visitors');
  } finally {
    await proxied.stop();
  }
});
