// The weekly loop's states and schedule over HTTP: strategy cycles
// (idempotent per project and week, in the project's time zone), approval,
// scheduling (local times, past refused, manual exports refused), the
// state machine's 409s, foreign ids 404, and the publish job that — with no
// rendered video — fails the item clearly with "not_rendered", reached by the
// worker's scheduler without anyone pressing a button. Also the migration
// that turns the old free-text statuses into checked columns.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, startServer, apiClient, betaUser, psql, cliploop, ROOT } from './lib/harness.mjs';

let db, srv, storage;

const PROJECT = {
  name: 'Mama Put Kitchen', project_type: 'business', business_name: 'Mama Put Kitchen',
  category: 'Restaurant', city: 'Lagos', target_audience: 'Office workers nearby',
  primary_offer: 'Party jollof trays', preferred_channels: ['instagram', 'whatsapp'], language_style: 'english',
};

const DRAFT = {
  channel: 'instagram', hook: 'Weekend jollof, half price', script: ['Smoky jollof', 'Half price', 'Order now'],
  caption: 'Half-price jollof this weekend.', cta: 'Order now', caption_hint: '', hashtags: ['#jollof'], variants: {},
};

const signedIn = (email) => betaUser(srv.url, email);

const patch = (c, p, body) => c.request('PATCH', p, body);

/** Insert rendered pack items directly (the pack generator has its own tests). */
function insertItems(userId, projectId, cycleId, specs) {
  return specs.map((s, i) => {
    const [row] = psql(db.url, `INSERT INTO content_items (user_id, project_id, cycle_id, position, source, channel,
      draft, status, publish_strategy) VALUES (${userId}, ${projectId}, ${cycleId}, ${s.position ?? i + 1}, 'cycle', '${s.channel}',
      '${JSON.stringify(DRAFT).replace(/'/g, "''")}'::jsonb, '${s.status ?? 'rendered'}', '${s.strategy}') RETURNING id`);
    return Number(row[0]);
  });
}

/** "YYYY-MM-DDTHH:MM" in zone tz, `mins` from now. */
function localIn(tz, mins) {
  const d = new Date(Date.now() + mins * 60000);
  const f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(d);
  const g = (t) => f.find((x) => x.type === t).value;
  return `${g('year')}-${g('month')}-${g('day')}T${g('hour')}:${g('minute')}`;
}

async function waitFor(fn, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`condition never held\n${srv.proc.log.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  db = createDatabase('cycles');
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-storage-'));
  srv = await startServer({
    dbUrl: db.url,
    env: { MOCK_MODE: 'true', CLIPLOOP_WORKERS: '1', CLIPLOOP_STORAGE_DIR: storage, CLIPLOOP_JOB_POLL_MS: '100',
      CLIPLOOP_SCHEDULER_TICK_MS: '200', CLIPLOOP_JOB_BACKOFF_MS: '100' },
  });
});

after(async () => {
  if (srv) await srv.stop();
  if (db) db.drop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

test('project time zone is an IANA name from the system database', async () => {
  const c = await signedIn('tz@example.com');
  const p = await c.post('/api/projects', PROJECT);
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const id = p.body.project?.id ?? p.body.id;
  assert.equal((p.body.project ?? p.body).timezone, 'UTC');
  for (const bad of ['Mars/Olympus', '../etc/passwd', 'Africa', '', 'posix/UTC']) {
    const r = await patch(c, `/api/projects/${id}`, { timezone: bad });
    assert.equal(r.status, 422, `${bad}: ${JSON.stringify(r.body)}`);
    assert.ok(r.body.error.fields.timezone, JSON.stringify(r.body));
  }
  const r = await patch(c, `/api/projects/${id}`, { timezone: 'America/Argentina/Buenos_Aires' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((r.body.project ?? r.body).timezone, 'America/Argentina/Buenos_Aires');
});

test('cycles: one per project and week, Monday in the project zone; foreign ids 404', async () => {
  const c = await signedIn('weeks@example.com');
  const p = await c.post('/api/projects', { ...PROJECT, timezone: 'Pacific/Kiritimati' });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const pid = p.body.project?.id ?? p.body.id;

  let r = await c.post(`/api/projects/${pid}/strategy-cycles`, {});
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const cycle = r.body.cycle;
  // Monday of the current week in UTC+14.
  const today = localIn('Pacific/Kiritimati', 0).slice(0, 10);
  const d = new Date(today + 'T00:00:00Z');
  const monday = new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * 86400000).toISOString().slice(0, 10);
  assert.equal(cycle.week_start, monday);
  assert.equal(cycle.timezone, 'Pacific/Kiritimati');
  assert.equal(cycle.today, today);
  assert.equal(cycle.pack_status, 'none');
  assert.deepEqual(r.body.items, []);
  assert.equal(r.body.costs.generate_posts.cost, 5);
  assert.equal(r.body.costs.regenerate.cost, 1);
  assert.equal(r.body.limits.regenerations_per_week.limit, 3);

  // The same week again — by no date, or by any day of that week — is the same cycle.
  r = await c.post(`/api/projects/${pid}/strategy-cycles`, {});
  assert.equal(r.status, 200);
  assert.equal(r.body.cycle.id, cycle.id);
  const sunday = new Date(new Date(monday + 'T00:00:00Z').getTime() + 6 * 86400000).toISOString().slice(0, 10);
  r = await c.post(`/api/projects/${pid}/strategy-cycles`, { week_start: sunday });
  assert.equal(r.status, 200);
  assert.equal(r.body.cycle.id, cycle.id);
  // Concurrent creates of a new week: one cycle.
  const rs = await Promise.all([1, 2, 3, 4].map(() => c.post(`/api/projects/${pid}/strategy-cycles`, { week_start: '2030-01-09', brief: 'Launch week' })));
  const ids = new Set(rs.filter((x) => x.status < 300).map((x) => x.body.cycle.id));
  assert.equal(ids.size, 1, JSON.stringify(rs.map((x) => x.status)));
  assert.equal(rs.filter((x) => x.status === 201).length, 1);
  assert.equal(rs.find((x) => x.status === 201).body.cycle.week_start, '2030-01-07');
  assert.equal(rs.find((x) => x.status === 201).body.cycle.brief, 'Launch week');

  for (const bad of ['2030-02-30', 'next week', '07/01/2030', 12]) {
    r = await c.post(`/api/projects/${pid}/strategy-cycles`, { week_start: bad });
    assert.equal(r.status, 422, JSON.stringify(r.body));
  }
  r = await c.get(`/api/projects/${pid}/strategy-cycles`);
  assert.equal(r.status, 200);
  assert.equal(r.body.cycles.length, 2);
  assert.equal(r.body.current_week_start, monday);

  // Another user sees none of it.
  const eve = await signedIn('eve-weeks@example.com');
  assert.equal((await eve.post(`/api/projects/${pid}/strategy-cycles`, {})).status, 404);
  assert.equal((await eve.get(`/api/projects/${pid}/strategy-cycles`)).status, 404);
  assert.equal((await eve.get(`/api/strategy-cycles/${cycle.id}`)).status, 404);
  assert.equal((await eve.post(`/api/strategy-cycles/${cycle.id}/approve-all`)).status, 404);
  assert.equal((await eve.post(`/api/strategy-cycles/${cycle.id}/run-due`)).status, 404);
  assert.equal((await eve.post(`/api/strategy-cycles/${cycle.id}/schedule`, { days: ['mon'], time: '18:00' })).status, 404);
  assert.equal((await c.get('/api/strategy-cycles/999999')).status, 404);
});

test('approve, schedule, unschedule: the state machine answers 409 with the current state', async () => {
  const c = await signedIn('flow@example.com');
  const tz = 'Africa/Lagos';
  const p = await c.post('/api/projects', { ...PROJECT, timezone: tz });
  const pid = p.body.project?.id ?? p.body.id;
  const cy = (await c.post(`/api/projects/${pid}/strategy-cycles`, {})).body.cycle;
  const uid = Number(psql(db.url, `SELECT id FROM users WHERE email = 'flow@example.com'`)[0][0]);
  const [ig, wa, raw] = insertItems(uid, pid, cy.id, [
    { channel: 'instagram', strategy: 'direct_instagram' },
    { channel: 'whatsapp', strategy: 'manual_export' },
    { channel: 'instagram', strategy: 'direct_instagram', status: 'draft' },
  ]);

  // Not rendered: cannot be approved.
  let r = await c.post(`/api/content-items/${raw}/approve`);
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'not_rendered');
  // Not approved: cannot be scheduled (409 names the current state).
  r = await c.post(`/api/content-items/${ig}/schedule`, { at: localIn(tz, 120) });
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'invalid_transition');
  assert.equal(r.body.error.current_state, 'draft');
  assert.equal(r.body.error.requested_state, 'scheduled');
  r = await c.post(`/api/content-items/${ig}/unapprove`);
  assert.equal(r.status, 409);
  assert.equal(r.body.error.current_state, 'draft');

  r = await c.post(`/api/content-items/${ig}/approve`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.item.publish_status, 'approved');
  assert.equal(r.body.item.manual_status, null);
  r = await c.post(`/api/content-items/${ig}/approve`);
  assert.equal(r.status, 409);
  assert.equal(r.body.error.current_state, 'approved');

  // A manual export is approved into the manual queue, and cannot be scheduled.
  r = await c.post(`/api/content-items/${wa}/approve`);
  assert.equal(r.status, 200);
  assert.equal(r.body.item.manual_status, 'ready_for_export');
  r = await c.post(`/api/content-items/${wa}/schedule`, { at: localIn(tz, 120) });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'manual_export_not_schedulable');
  r = await c.post(`/api/content-items/${wa}/unapprove`);
  assert.equal(r.status, 200);
  assert.equal(r.body.item.publish_status, 'draft');
  assert.equal(r.body.item.manual_status, null);

  // Bad and past times are 422; nothing changes.
  for (const at of ['tomorrow', '2030-13-01T10:00', '2030-01-01T25:00', '', null]) {
    r = await c.post(`/api/content-items/${ig}/schedule`, { at });
    assert.equal(r.status, 422, `${at}: ${JSON.stringify(r.body)}`);
  }
  r = await c.post(`/api/content-items/${ig}/schedule`, { at: localIn(tz, -5) });
  assert.equal(r.status, 422);
  assert.match(r.body.error.fields.at, /passed/);
  assert.equal((await c.get(`/api/content-items/${ig}`)).body.publish_status, 'approved');

  // Local time in the project's zone (Lagos is UTC+1, no DST).
  const at = localIn(tz, 180);
  r = await c.post(`/api/content-items/${ig}/schedule`, { at });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.item.publish_status, 'scheduled');
  assert.equal(r.body.item.scheduled_local, at);
  assert.equal(new Date(r.body.item.scheduled_at).getTime(), new Date(at + ':00+01:00').getTime());
  assert.equal(r.body.item.publish_attempt, 1);
  // Scheduled items cannot be re-approved or unapproved directly.
  r = await c.post(`/api/content-items/${ig}/unapprove`);
  assert.equal(r.status, 409);
  assert.equal(r.body.error.current_state, 'scheduled');
  r = await c.post(`/api/content-items/${ig}/unschedule`);
  assert.equal(r.status, 200);
  assert.equal(r.body.item.publish_status, 'approved');
  assert.equal(r.body.item.scheduled_at, null);
  r = await c.post(`/api/content-items/${ig}/unschedule`);
  assert.equal(r.status, 409);
  assert.equal(r.body.error.current_state, 'approved');

  // approve-all approves only rendered drafts, and says why not for the rest.
  r = await c.post(`/api/strategy-cycles/${cy.id}/approve-all`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.approved, [wa]);
  assert.deepEqual(r.body.not_approved.map((x) => [x.id, x.reason]), [[ig, 'approved'], [raw, 'not_rendered']]);

  // Bulk schedule "Mon-Fri 18:00": direct items only; manual ones are listed.
  const future = await c.post(`/api/projects/${pid}/strategy-cycles`, { week_start: '2031-03-05' });
  const fut = future.body.cycle;
  const ids = insertItems(uid, pid, fut.id, [
    { channel: 'instagram', strategy: 'direct_instagram' }, { channel: 'whatsapp', strategy: 'manual_export' },
    { channel: 'instagram', strategy: 'direct_instagram' },
  ]);
  r = await c.post(`/api/strategy-cycles/${fut.id}/schedule`, { days: ['mon', 'tue', 'wed', 'thu', 'fri'], time: '18:00' });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.scheduled, []); // nothing approved yet
  assert.equal(r.body.not_scheduled.length, 3);
  await c.post(`/api/strategy-cycles/${fut.id}/approve-all`);
  r = await c.post(`/api/strategy-cycles/${fut.id}/schedule`, { days: ['mon', 'tue', 'wed', 'thu', 'fri'], time: '18:00' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.scheduled, [ids[0], ids[2]]);
  assert.deepEqual(r.body.not_scheduled, [{ id: ids[1], reason: 'manual_export' }]);
  const byId = Object.fromEntries(r.body.items.map((i) => [i.id, i]));
  assert.equal(byId[ids[0]].scheduled_local, '2031-03-03T18:00');
  assert.equal(byId[ids[2]].scheduled_local, '2031-03-04T18:00');
  assert.equal(byId[ids[0]].scheduled_at, '2031-03-03T17:00:00Z');
  // Explicit slots are all or nothing: one past slot refuses the request.
  await c.post(`/api/content-items/${ids[0]}/unschedule`);
  r = await c.post(`/api/strategy-cycles/${fut.id}/schedule`, { slots: [
    { item_id: ids[0], at: '2031-03-06T09:30' }, { position: 3, at: '2020-01-01T09:00' }] });
  assert.equal(r.status, 422, JSON.stringify(r.body));
  assert.equal((await c.get(`/api/content-items/${ids[0]}`)).body.publish_status, 'approved');
  r = await c.post(`/api/strategy-cycles/${fut.id}/schedule`, { slots: [{ position: 2, at: '2031-03-06T09:30' }] });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'manual_export_not_schedulable');
  r = await c.post(`/api/strategy-cycles/${fut.id}/schedule`, { slots: [{ item_id: ids[0], at: '2031-03-06T09:30:00Z' }] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.items.find((i) => i.id === ids[0]).scheduled_local, '2031-03-06T10:30');

  // Another user's items are 404 for every action.
  const eve = await signedIn('eve-flow@example.com');
  for (const a of ['approve', 'unapprove', 'unschedule']) assert.equal((await eve.post(`/api/content-items/${ig}/${a}`)).status, 404);
  assert.equal((await eve.post(`/api/content-items/${ig}/schedule`, { at: localIn(tz, 60) })).status, 404);
  assert.equal((await eve.post(`/api/strategy-cycles/${fut.id}/schedule`, { slots: [{ item_id: ids[0], at: '2031-03-06T09:30' }] })).status, 404);
});

test('a due item becomes one publish job by itself; with nothing to publish it fails clearly (not_rendered)', async () => {
  const c = await signedIn('due@example.com');
  const tz = 'Europe/Berlin';
  const p = await c.post('/api/projects', { ...PROJECT, timezone: tz });
  const pid = p.body.project?.id ?? p.body.id;
  const cy = (await c.post(`/api/projects/${pid}/strategy-cycles`, {})).body.cycle;
  const uid = Number(psql(db.url, `SELECT id FROM users WHERE email = 'due@example.com'`)[0][0]);
  const [a, b] = insertItems(uid, pid, cy.id, [
    { channel: 'instagram', strategy: 'direct_instagram' }, { channel: 'instagram', strategy: 'direct_instagram' }]);
  for (const id of [a, b]) {
    assert.equal((await c.post(`/api/content-items/${id}/approve`)).status, 200);
    assert.equal((await c.post(`/api/content-items/${id}/schedule`, { at: localIn(tz, 60) })).status, 200);
  }
  // a: due now (moved into the past), nobody presses anything: the worker's scheduler enqueues it.
  psql(db.url, `UPDATE content_items SET scheduled_at = now() - interval '1 second' WHERE id = ${a}`);
  const item = await waitFor(async () => {
    const r = await c.get(`/api/content-items/${a}`);
    return r.body.publish_status === 'failed' ? r.body : null;
  });
  // MOCK_MODE: the mock publisher takes it, but the item has no rendered video.
  assert.match(item.publish_error, /^not_rendered: /);
  const jobs = psql(db.url, `SELECT status, last_error, idempotency_key FROM jobs WHERE kind = 'publish.content_item'`);
  assert.equal(jobs.length, 1);
  assert.equal(jobs[0][0], 'failed'); // permanent: not retried
  assert.match(jobs[0][1], /not_rendered/);
  assert.equal(jobs[0][2], `publish:${a}:1`);
  // b is not due: untouched.
  assert.equal((await c.get(`/api/content-items/${b}`)).body.publish_status, 'scheduled');

  // run-due enqueues only what is due, once.
  let r = await c.post(`/api/strategy-cycles/${cy.id}/run-due`);
  assert.equal(r.status, 200);
  assert.equal(r.body.enqueued, 0);
  // A failed item can be rescheduled (a new attempt, a new job key).
  r = await c.post(`/api/content-items/${a}/schedule`, { at: localIn(tz, 30) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.item.publish_attempt, 2);
  assert.equal(r.body.item.publish_error, null);
  // Stop the scheduler from racing run-due: make both due, then press run-due at once.
  psql(db.url, `UPDATE content_items SET scheduled_at = now() - interval '1 second' WHERE id IN (${a}, ${b})`);
  r = await c.post(`/api/strategy-cycles/${cy.id}/run-due`);
  assert.equal(r.status, 200);
  await waitFor(async () => {
    const rows = psql(db.url, `SELECT count(*) FROM content_items WHERE id IN (${a}, ${b}) AND publish_status = 'failed'`);
    return rows[0][0] === '2';
  });
  const keys = psql(db.url, `SELECT idempotency_key FROM jobs WHERE kind = 'publish.content_item' ORDER BY id`).map((x) => x[0]);
  assert.deepEqual(keys.sort(), [`publish:${a}:1`, `publish:${a}:2`, `publish:${b}:1`].sort());
  assert.ok(r.body.enqueued <= 2);

  // A job whose item was unscheduled meanwhile completes as stale without touching it.
  const [d] = insertItems(uid, pid, cy.id, [{ channel: 'instagram', strategy: 'direct_instagram', position: 3 }]);
  await c.post(`/api/content-items/${d}/approve`);
  await c.post(`/api/content-items/${d}/schedule`, { at: localIn(tz, 60) });
  psql(db.url, `INSERT INTO jobs (kind, payload, idempotency_key) VALUES ('publish.content_item',
    '{"content_item_id": ${d}, "attempt": 7}', 'stale-test')`);
  psql(db.url, `NOTIFY cliploop_jobs`);
  await waitFor(async () => psql(db.url, `SELECT status FROM jobs WHERE idempotency_key = 'stale-test'`)[0][0] === 'completed');
  assert.equal((await c.get(`/api/content-items/${d}`)).body.publish_status, 'scheduled');
});

test('migration 0008 keeps existing rows valid', async () => {
  const old = createDatabase('cycles_mig');
  const dir = mkdtempSync(path.join(tmpdir(), 'cliploop-mig-'));
  try {
    const src = path.join(ROOT, 'migrations');
    for (const f of readdirSync(src).filter((f) => f < '0008')) copyFileSync(path.join(src, f), path.join(dir, f));
    let m = cliploop(['migrate'], { DATABASE_URL: old.url, CLIPLOOP_MIGRATIONS_DIR: dir, CLIPLOOP_ENV_FILE: '/dev/null' });
    assert.equal(m.status, 0, m.stderr);
    psql(old.url, `INSERT INTO users (email) VALUES ('old@example.com');
      INSERT INTO projects (owner_id, name, project_type) SELECT id, 'Old', 'business' FROM users;
      INSERT INTO content_items (user_id, project_id, channel, draft, publish_strategy, publish_status, manual_status)
      SELECT u.id, p.id, 'instagram', '{}', v.s, v.ps, v.ms FROM users u, projects p,
      (VALUES ('manual', 'unpublished', NULL), ('auto', 'unpublished', 'whatever'), ('manual', 'published', 'posted'))
        AS v(s, ps, ms)`);
    m = cliploop(['migrate'], { DATABASE_URL: old.url, CLIPLOOP_ENV_FILE: '/dev/null' });
    assert.equal(m.status, 0, m.stderr);
    const rows = psql(old.url, `SELECT publish_strategy, publish_status, coalesce(manual_status, '-') FROM content_items ORDER BY id`);
    assert.deepEqual(rows, [['manual_export', 'draft', '-'], ['direct_instagram', 'draft', '-'], ['manual_export', 'published', 'posted']]);
    assert.deepEqual(psql(old.url, `SELECT timezone FROM projects`), [['UTC']]);
    // The checks hold from now on.
    assert.throws(() => psql(old.url, `UPDATE content_items SET publish_status = 'unpublished'`), /check/i);
    assert.throws(() => psql(old.url, `UPDATE content_items SET publish_strategy = 'auto'`), /check/i);
    assert.throws(() => psql(old.url, `UPDATE content_items SET publish_status = 'scheduled'`), /scheduled_has_time/);
  } finally {
    old.drop();
    rmSync(dir, { recursive: true, force: true });
  }
});
