// More than one machine, on one: 2 `cliploop serve` hosts and 3 `cliploop
// worker` processes (own ports, working directories and local storage
// directories) against one Postgres and one S3-compatible bucket (the fake
// S3 of tests/fakes/s3.mjs, run as its own program). The create flow (brief
// → generate → render → download) goes through both hosts alternately; a
// render made by any worker downloads from either host, by a redirect to a
// presigned URL of the bucket, with the bytes whose SHA-256 the worker
// recorded; SIGKILL of one host (during a
// generate request) and of one worker (during a render) loses no job and no
// credit: every request is charged exactly once, every render completes, the
// balances moved by exactly the ledger's entries.
// run-alone: it SIGKILLs hosts and workers in the middle of requests and renders.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, startServer, startProcess, apiClient, psql, until, ROOT, RENDER_WAIT_MS } from './lib/harness.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let db, s3, endpoint, dirs = [], hosts = [], workers = [];

function tempDir(name) {
  const d = mkdtempSync(path.join(tmpdir(), `cliploop-topology-${name}-`));
  dirs.push(d);
  return d;
}

/** Working directory and local storage (scratch only: the renders live in the bucket) of one process. */
function machine(name) {
  const cwd = tempDir(name);
  return { cwd, env: { CLIPLOOP_STORAGE_DIR: path.join(cwd, 'storage') } };
}

const BUCKET = { key: 'TOPOLOGYKEY', secret: 'topology-secret-key-0123456789', bucket: 'cliploop-topology', region: 'eu-west-1' };

before(async () => {
  db = createDatabase('topology');
  // The bucket: the fake S3 as its own process, so this test's blocking psql calls never stall it.
  const portFile = path.join(tempDir('s3'), 'port');
  s3 = spawn(process.execPath, [path.join(ROOT, 'tests/fakes/s3.mjs'), portFile, BUCKET.key, BUCKET.secret, BUCKET.bucket, BUCKET.region],
    { stdio: ['ignore', 'inherit', 'inherit'] });
  await until('the fake S3', () => existsSync(portFile), 20000);
  endpoint = `http://127.0.0.1:${readFileSync(portFile, 'utf8').trim()}`;
  const env = {
    MOCK_MODE: 'true', LLM_PROVIDER: 'mock', CLIPLOOP_SCRYPT_LOG_N: '10',
    CLIPLOOP_WORKERS: '0', CLIPLOOP_JOB_POLL_MS: '100', CLIPLOOP_JOB_LEASE_MS: '1500', CLIPLOOP_JOB_BACKOFF_MS: '200',
    STORAGE: 's3', STORAGE_S3_ENDPOINT: endpoint, STORAGE_S3_REGION: BUCKET.region, STORAGE_S3_BUCKET: BUCKET.bucket,
    STORAGE_S3_ACCESS_KEY: BUCKET.key, STORAGE_S3_SECRET_KEY: BUCKET.secret, STORAGE_S3_PATH_STYLE: 'true',
  };
  for (let i = 0; i < 2; i++) {
    const m = machine(`host${i + 1}`);
    hosts.push(await startServer({ dbUrl: db.url, env: { ...env, ...m.env }, migrate: i === 0, cwd: m.cwd }));
  }
  for (let i = 0; i < 3; i++) {
    const m = machine(`worker${i + 1}`);
    const w = startProcess(['worker'], { ...env, ...m.env, DATABASE_URL: db.url, CLIPLOOP_WORKER_CONCURRENCY: '1' },
      { cwd: m.cwd });
    await w.waitForLog(/worker \S+:\d+ ready/);
    workers.push(w);
  }
});

after(async () => {
  for (const p of [...workers.map((w) => w.stop('SIGKILL')), ...hosts.map((h) => h.stop('SIGKILL'))]) await p;
  if (s3 && s3.exitCode === null) {
    const gone = new Promise((r) => s3.once('exit', r));
    s3.kill('SIGTERM');
    await gone;
  }
  if (db) db.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A client for host i that shares one session (cookie + CSRF token) with the others. */
function on(i, session) {
  const c = apiClient(hosts[i].url);
  c.cookie = session.cookie;
  c.csrf = session.csrf;
  return c;
}

/** A beta user with a project, signed up through host 0. */
async function user(email, business) {
  const c = apiClient(hosts[0].url);
  assert.equal((await c.signup(email)).status, 201);
  assert.equal((await apiClient(hosts[1].url).post('/api/dev/approve-user', { email, plan: 'beta' })).status, 200);
  const p = await on(1, c).post('/api/projects', {
    name: business, project_type: 'business', business_name: business, category: 'Bakery', city: 'Porto',
    target_audience: 'Neighbours on their way to work', primary_offer: 'Two pastries and a coffee for 4 euros',
    preferred_channels: ['instagram'], language_style: 'english',
  });
  assert.equal(p.status, 201, p.text);
  assert.equal((await on(0, c).get('/api/me/credits')).status, 200); // applies the beta plan's grant
  const id = psql(db.url, `SELECT id FROM users WHERE email = '${email}'`)[0][0];
  const [[gen, ren]] = psql(db.url, `SELECT generation_balance, render_balance FROM credit_accounts WHERE user_id = ${id}`);
  const [[lastEntry]] = psql(db.url, `SELECT COALESCE(max(id), 0) FROM credit_ledger_entries WHERE user_id = ${id}`);
  return { c, id, projectId: p.body.project?.id ?? p.body.id, start: { gen: Number(gen), ren: Number(ren), lastEntry } };
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

test('the create flow across 2 hosts and 3 workers survives a killed host and a killed worker', async () => {
  const ada = await user('ada@bakery.example', 'Ada Pastries');
  const ben = await user('ben@bakery.example', 'Ben Breads');
  // Four flows, alternating hosts at every step: brief on one, generate on the other.
  const flows = [];
  for (let k = 0; k < 4; k++) {
    const u = k % 2 === 0 ? ada : ben;
    const h = k % 2;
    const brief = await on(h, u.c).post('/api/create/brief', { project_id: u.projectId, prompt: `Instagram promo ${k}: pastries and coffee before work` });
    assert.equal(brief.status, 200, brief.text);
    flows.push({ u, h, body: { project_id: u.projectId, brief: brief.body.brief, request_id: `topology-req-000${k}` } });
  }

  // Flow 0 through host 1, which is SIGKILLed while the request is in flight;
  // the client retries the same request on host 0.
  const inFlight = on(1, flows[0].u.c).post('/api/create/generate', flows[0].body).catch((e) => ({ error: e }));
  await sleep(5);
  await hosts[1].stop('SIGKILL');
  await inFlight;
  const retried = await on(0, flows[0].u.c).post('/api/create/generate', flows[0].body);
  assert.ok([200, 201].includes(retried.status), retried.text);
  flows[0].itemId = retried.body.content_item_id;
  // Host 1 comes back (same port, new process) and takes its turn again.
  const again = machine('host2b');
  hosts[1] = await startServer({ dbUrl: db.url, env: { ...hosts[1].env, ...again.env }, migrate: false, port: hosts[1].port, cwd: again.cwd });

  for (let k = 1; k < 4; k++) {
    const r = await on(flows[k].h, flows[k].u.c).post('/api/create/generate', flows[k].body);
    assert.ok([200, 201].includes(r.status), r.text);
    flows[k].itemId = r.body.content_item_id;
  }

  // SIGKILL the worker that holds a running render; its lease runs out and another worker finishes it.
  const running = await until('a running render', () => {
    const rows = psql(db.url, "SELECT id, locked_by FROM jobs WHERE kind = 'render.content_item' AND status = 'running'");
    return rows.find(([, by]) => workers.some((w) => by.includes(`:${w.child.pid}:`)));
  }, RENDER_WAIT_MS);
  const victim = workers.findIndex((w) => running[1].includes(`:${w.child.pid}:`));
  await workers[victim].stop('SIGKILL');

  // Every item renders, seen through both hosts.
  for (const f of flows) {
    const item = await until(`item ${f.itemId} rendered`, async () => {
      const r = await on(f.itemId % 2, f.u.c).get(`/api/content-items/${f.itemId}`);
      return ['rendered', 'render_failed'].includes(r.body.status) ? r.body : null;
    }, RENDER_WAIT_MS);
    assert.equal(item.status, 'rendered', JSON.stringify(item));
    f.item = item;
  }
  const killedJob = psql(db.url, `SELECT status, attempts FROM jobs WHERE id = ${running[0]}`)[0];
  assert.equal(killedJob[0], 'completed');
  assert.ok(Number(killedJob[1]) >= 2, 'the killed render ran again');
  assert.equal(psql(db.url, `SELECT count(*) FROM job_events WHERE job_id = ${running[0]} AND event = 'lease_expired'`)[0][0], '1');
  assert.deepEqual(psql(db.url, "SELECT count(*) FROM jobs WHERE status <> 'completed'"), [['0']]);

  // Renders by more than one worker, in the bucket, each downloadable from
  // either host (a redirect to a presigned bucket URL), the bytes the worker recorded.
  const renderers = new Set(psql(db.url, `SELECT split_part(locked_by, ':', 2) FROM jobs WHERE kind = 'render.content_item'`).map((r) => r[0]));
  assert.ok(renderers.size >= 2, `renders by ${[...renderers]}`);
  for (const f of flows) {
    const video = f.item.assets.find((a) => a.kind === 'video');
    assert.ok(video && f.item.assets.some((a) => a.kind === 'thumbnail'), JSON.stringify(f.item.assets));
    assert.equal(video.storage, 's3');
    for (const h of [0, 1]) {
      const r = await fetch(hosts[h].url + video.download_url, { headers: { cookie: f.u.c.cookie }, redirect: 'manual' });
      assert.equal(r.status, 302, `host ${h}: ${video.download_url}`);
      const location = r.headers.get('location');
      assert.ok(location.startsWith(`${endpoint}/`), location);
      const obj = await fetch(location); // presigned: no cookie, no credentials
      assert.equal(obj.status, 200, location);
      const buf = Buffer.from(await obj.arrayBuffer());
      assert.equal(buf.length, video.bytes);
      assert.equal(buf.subarray(4, 8).toString('latin1'), 'ftyp');
      assert.equal(sha256(buf), video.sha256);
    }
  }

  // The money: each request charged once (copy + render), nothing refunded,
  // and each account's balance moved by exactly its ledger.
  for (const u of [ada, ben]) {
    const charges = psql(db.url, `SELECT reference_key, amount FROM credit_ledger_entries
      WHERE user_id = ${u.id} AND reason <> 'monthly_grant' ORDER BY reference_key`);
    const mine = flows.filter((f) => f.u === u).map((f) => f.body.request_id);
    assert.deepEqual(charges.map(([k, a]) => `${k}:${a}`),
      mine.flatMap((r) => [`create:${r}:copy:-1`, `create:${r}:render:-1`]).sort());
    const [[gen, ren]] = psql(db.url, `SELECT generation_balance, render_balance FROM credit_accounts WHERE user_id = ${u.id}`);
    assert.deepEqual([Number(gen), Number(ren)], [u.start.gen - mine.length, u.start.ren - mine.length]);
    const [[sumGen, sumRen]] = psql(db.url, `SELECT COALESCE(sum(amount) FILTER (WHERE kind = 'generation'), 0),
      COALESCE(sum(amount) FILTER (WHERE kind = 'render'), 0) FROM credit_ledger_entries
      WHERE user_id = ${u.id} AND id > ${u.start.lastEntry}`);
    assert.deepEqual([Number(sumGen), Number(sumRen)], [Number(gen) - u.start.gen, Number(ren) - u.start.ren]);
    assert.equal(psql(db.url, `SELECT count(*) FROM content_items WHERE user_id = ${u.id}`)[0][0], String(mine.length));
  }
});
