// What happens to clicks when the process stops or the database goes away:
//   - a clean stop (SIGTERM) writes every queued click: N redirects, N rows;
//   - SIGKILL loses at most the last batch window (measured and printed);
//   - with the database unreachable the redirect keeps answering from the
//     slug cache, clicks queue up to the bound and the rest are dropped
//     (counted in /healthz and the log); when it comes back the queue drains:
//     rows = redirects answered - dropped, exactly.
// run-alone: it SIGKILLs the click writer and counts what one batch window lost.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, apiClient, psql } from './lib/harness.mjs';

const ADMIN = process.env.CLIPLOOP_PG_ADMIN_URL;
let db, setup;

const DRAFT = {
  hook: 'Weekend jollof, half price', script: ['Smoky party jollof', 'Half price all weekend'],
  caption: 'Half-price jollof this weekend only.', cta: 'Order now', caption_hint: 'warm',
  hashtags: ['#jollof'], variants: {},
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const count = (sql) => Number(psql(db.url, sql)[0][0]);

/** n GET /r/<slug> requests, `conc` at a time; returns the click ids of the 302s with when they were answered. */
async function clicks(url, slug, n, conc = 16) {
  const out = [];
  let next = 0;
  async function worker() {
    while (next < n) {
      next++;
      const r = await fetch(`${url}/r/${slug}`, { redirect: 'manual' });
      assert.equal(r.status, 302);
      out.push({ id: new URL(r.headers.get('location')).searchParams.get('clp_click'), at: Date.now() });
    }
  }
  await Promise.all(Array.from({ length: conc }, worker));
  return out;
}

before(async () => {
  db = createDatabase('trackdur');
  // One server to create the account, project and item; each test then starts its own.
  const srv = await startServer({ dbUrl: db.url, env: { MOCK_MODE: 'true' } });
  try {
    const c = apiClient(srv.url);
    assert.equal((await c.signup('dur@example.com')).status, 201);
    assert.equal((await c.post('/api/dev/approve-user', { email: 'dur@example.com', plan: 'beta' })).status, 200);
    const p = await c.post('/api/projects', {
      name: 'Durable', project_type: 'business', business_name: 'Durable', category: 'Shop', city: 'Lagos',
      target_audience: 'Everyone', primary_offer: 'Things', preferred_channels: ['tiktok'], language_style: 'english',
      website_url: 'https://durable.example/',
    });
    const pid = p.body.project?.id ?? p.body.id;
    const it = await c.post('/api/content-items', { project_id: pid, channel: 'tiktok', draft: DRAFT });
    assert.equal(it.status, 201, JSON.stringify(it.body));
    setup = { slug: it.body.tracking_slug, id: it.body.id };
  } finally {
    await srv.stop();
  }
});

after(() => { if (db) db.drop(); });

test('clean stop: N redirects, SIGTERM, exactly N rows', async () => {
  psql(db.url, 'DELETE FROM tracking_clicks');
  // A batch window far longer than the test: nothing is written before the stop.
  const srv = await startServer({ dbUrl: db.url, migrate: false, env: { CLIPLOOP_TRACKING_FLUSH_MS: '600000', CLIPLOOP_ACCESS_LOG: 'false' } });
  const N = 600;
  const got = await clicks(srv.url, setup.slug, N);
  assert.equal(new Set(got.map((x) => x.id)).size, N);
  assert.equal(count('SELECT count(*) FROM tracking_clicks'), 0, 'still queued in memory');
  const exit = await srv.stop('SIGTERM');
  assert.equal(exit.code, 0, srv.proc.log.slice(-2000));
  assert.equal(count('SELECT count(*) FROM tracking_clicks'), N);
  assert.equal(count(`SELECT count(*) FROM tracking_clicks WHERE click_id IN (${got.map((x) => `'${x.id}'`).join(',')})`), N);
  assert.match(srv.proc.log, new RegExp(`${N} accepted, ${N} written, 0 dropped`));
});

test('SIGKILL loses at most the last batch window', async () => {
  psql(db.url, 'DELETE FROM tracking_clicks');
  const FLUSH = 200;
  const srv = await startServer({ dbUrl: db.url, migrate: false, env: { CLIPLOOP_TRACKING_FLUSH_MS: String(FLUSH), CLIPLOOP_ACCESS_LOG: 'false' } });
  let stop = false;
  const answered = [];
  async function load() {
    while (!stop) {
      try {
        const r = await fetch(`${srv.url}/r/${setup.slug}`, { redirect: 'manual' });
        if (r.status === 302) answered.push({ id: new URL(r.headers.get('location')).searchParams.get('clp_click'), at: Date.now() });
      } catch { /* the kill ends in-flight requests */ }
    }
  }
  const loaders = Array.from({ length: 8 }, load);
  await sleep(2000);
  const killedAt = Date.now();
  srv.proc.child.kill('SIGKILL');
  stop = true;
  await Promise.all(loaders);
  await srv.proc.exit;
  const stored = new Set(psql(db.url, 'SELECT click_id FROM tracking_clicks').map((r) => r[0]));
  const lost = answered.filter((x) => !stored.has(x.id));
  // Everything answered more than one window (+ write time and scheduling slack) before the kill is stored.
  const SLACK = 400;
  const old = answered.filter((x) => x.at < killedAt - FLUSH - SLACK);
  assert.deepEqual(old.filter((x) => !stored.has(x.id)), [], 'a click older than the batch window was lost');
  const lastWindow = answered.filter((x) => x.at >= killedAt - FLUSH - SLACK).length;
  assert.ok(lost.length <= lastWindow);
  const rate = answered.length / 2;
  console.log(`# SIGKILL: ${answered.length} redirects answered in 2 s (${rate.toFixed(0)}/s), ${stored.size} stored, ` +
    `${lost.length} lost; bound = clicks in the last ${FLUSH} ms window + write time (${lastWindow} answered in the last ${FLUSH + SLACK} ms)`);
});

test('database away during a redirect load: redirects keep answering, drops are counted, the queue drains after', async () => {
  psql(db.url, 'DELETE FROM tracking_clicks');
  const srv = await startServer({
    dbUrl: db.url, migrate: false,
    env: { CLIPLOOP_TRACKING_FLUSH_MS: '50', CLIPLOOP_TRACKING_QUEUE_MAX: '100', CLIPLOOP_ACCESS_LOG: 'false', CLIPLOOP_LOG_LEVEL: 'info' },
  });
  try {
    // Warm the slug cache and check the writer works.
    const warm = await clicks(srv.url, setup.slug, 5, 1);
    for (let i = 0; i < 100 && count('SELECT count(*) FROM tracking_clicks') < 5; i++) await sleep(50);
    assert.equal(count('SELECT count(*) FROM tracking_clicks'), 5);

    psql(ADMIN, `ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
    psql(ADMIN, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db.name}'`);
    let during;
    try {
      during = await clicks(srv.url, setup.slug, 800);
      const h = await fetch(srv.url + '/healthz');
      assert.equal(h.status, 503);
      const body = await h.json();
      assert.equal(body.error.code, 'database_unavailable');
      assert.ok(body.tracking.dropped > 0, JSON.stringify(body.tracking));
      assert.ok(body.tracking.queued > 0, JSON.stringify(body.tracking));
      assert.equal(body.tracking.writer, 'retrying');
      await srv.proc.waitForLog(/dropped \d+ click\(s\) because the queue was full/, 10000);
    } finally {
      psql(ADMIN, `ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
    }
    // Back: the queue drains without a restart.
    let h;
    for (let i = 0; i < 200; i++) {
      h = await (await fetch(srv.url + '/healthz')).json();
      if (h.tracking && h.tracking.queued === 0 && h.tracking.writer === 'ok') break;
      await sleep(50);
    }
    assert.equal(h.tracking.writer, 'ok', JSON.stringify(h));
    const answered = warm.length + during.length;
    assert.equal(h.tracking.accepted + h.tracking.dropped, answered);
    assert.equal(count('SELECT count(*) FROM tracking_clicks'), answered - h.tracking.dropped);
    console.log(`# database away: ${during.length} redirects answered while it was unreachable, ${h.tracking.dropped} clicks dropped (queue bound 100 per thread), ${h.tracking.written} written`);
    // And the redirect still works afterwards (cache cleared by the listener's reconnect, refilled).
    assert.equal((await clicks(srv.url, setup.slug, 3, 1)).length, 3);
  } finally {
    await srv.stop();
  }
});
