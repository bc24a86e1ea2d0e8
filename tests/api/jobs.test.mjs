// jobs.test.mjs — the durable job queue through the real binary: `cliploop
// jobs`, `cliploop worker` (retries, backoff, dead, leases after SIGKILL,
// graceful shutdown) and the supervisor inside `cliploop serve`.
// run-alone: lease expiry and heartbeats of 1.5 s leases, SIGKILL and SIGTERM timing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, cliploop, startProcess, startServer, psql } from './lib/harness.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let db;
let env;

before(() => {
  db = createDatabase('jobs');
  env = {
    DATABASE_URL: db.url,
    CLIPLOOP_ENV_FILE: '/dev/null',
    CLIPLOOP_JOB_BACKOFF_MS: '200',
    CLIPLOOP_JOB_POLL_MS: '500',
    CLIPLOOP_WORKER_CONCURRENCY: '2',
  };
});

after(() => db.drop());

function enqueue(args, extraEnv = {}) {
  const r = cliploop(['jobs', 'enqueue', ...args], { ...env, ...extraEnv });
  assert.equal(r.status, 0, `enqueue failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function show(id) {
  const r = cliploop(['jobs', 'show', String(id)], env);
  assert.equal(r.status, 0, `show failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const q = (sql) => psql(db.url, sql);

/** Poll the job until pred(job) holds. */
async function waitJob(id, pred, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  let job;
  while (Date.now() < end) {
    job = show(id);
    if (pred(job)) return job;
    await sleep(50);
  }
  throw new Error(`job ${id} never reached the expected state; last: ${JSON.stringify(job)}`);
}

async function withWorker(extraEnv, fn) {
  const w = startProcess(['worker'], { ...env, ...extraEnv });
  try {
    await w.waitForLog(/ready: \d+ runner/);
    await fn(w);
  } finally {
    await w.stop('SIGTERM');
  }
  return w;
}

test('the worker refuses an unmigrated database', () => {
  const r = cliploop(['worker'], env);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /database is not migrated: run `cliploop migrate`/);
  const m = cliploop(['migrate'], env);
  assert.equal(m.status, 0, m.stderr);
});

test('enqueue validates its arguments', () => {
  let r = cliploop(['jobs', 'enqueue', 'system.echo', '{not json'], env);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /not valid JSON/);
  r = cliploop(['jobs', 'enqueue'], env);
  assert.equal(r.status, 2);
  r = cliploop(['jobs', 'enqueue', 'system.echo', '{}', '--max-attempts', '0'], env);
  assert.equal(r.status, 2);
  r = cliploop(['jobs', 'show', '999999'], env);
  assert.equal(r.status, 1);
  assert.equal(q("SELECT count(*) FROM jobs")[0][0], '0');
});

test('the same idempotency key makes one job', () => {
  const a = enqueue(['system.echo', '{"n":1}', '--key', 'order-42']);
  const b = enqueue(['system.echo', '{"n":2}', '--key', 'order-42']);
  assert.equal(a.created, true);
  assert.equal(b.created, false);
  assert.equal(b.id, a.id);
  assert.deepEqual(q("SELECT count(*), min(payload->>'n') FROM jobs WHERE idempotency_key = 'order-42'"), [['1', '1']]);
  const c = enqueue(['system.echo', '{"n":3}', '--key', 'order-43']);
  assert.notEqual(c.id, a.id);
});

test('system.echo completes with its payload as the result; logs never show the payload', async () => {
  const payload = { hello: 'world', marker: 'payload-marker-7f3a' };
  const { id } = enqueue(['system.echo', JSON.stringify(payload)]);
  const w = await withWorker({}, async () => {
    const job = await waitJob(id, (j) => j.status === 'completed');
    assert.deepEqual(job.result, payload);
    assert.equal(job.attempts, 1);
    assert.deepEqual(job.events.map((e) => e.event), ['enqueued', 'claimed', 'completed']);
  });
  assert.match(w.log, new RegExp(`claimed job ${id} kind=system\\.echo attempt=1`));
  assert.match(w.log, new RegExp(`completed job ${id} kind=system\\.echo attempt=1`));
  assert.doesNotMatch(w.log, /payload-marker-7f3a/);
  assert.deepEqual(w.exited, { code: 0, signal: null });
  // the earlier idempotency jobs ran too
  assert.equal(q("SELECT count(*) FROM jobs WHERE status <> 'completed'")[0][0], '0');
});

test('retryable failures back off exponentially, then complete', async () => {
  const { id } = enqueue(['system.sleep', '{"ms":100,"fail_attempts":2}', '--max-attempts', '3']);
  await withWorker({}, async () => {
    const job = await waitJob(id, (j) => ['completed', 'dead', 'failed'].includes(j.status));
    assert.equal(job.status, 'completed');
    assert.equal(job.attempts, 3);
    assert.deepEqual(job.result, { slept_ms: 100, attempt: 3 });
    assert.deepEqual(job.progress, { done: 100, total: 100 });
    assert.match(job.last_error, /simulated failure on attempt 2/);
    assert.deepEqual(job.events.map((e) => `${e.event}:${e.attempt}`),
      ['enqueued:0', 'claimed:1', 'retry_scheduled:1', 'claimed:2', 'retry_scheduled:2', 'claimed:3', 'completed:3']);
  });
  // The delay scheduled by each retry (run_after - time of failure) doubles: ~200 then ~400 ms.
  const gaps = q(`SELECT round(extract(epoch FROM run_after - at) * 1000) FROM job_events
                  WHERE job_id = ${id} AND event = 'retry_scheduled' ORDER BY id`).map((r) => Number(r[0]));
  assert.equal(gaps.length, 2);
  assert.ok(gaps[0] >= 180 && gaps[0] < 400, `first gap ${gaps[0]}`);
  assert.ok(gaps[1] >= 380 && gaps[1] < 800, `second gap ${gaps[1]}`);
  assert.ok(gaps[1] > gaps[0] * 1.5);
  // ...and no attempt started before its run_after.
  const early = q(`SELECT count(*) FROM job_events r JOIN job_events c
                   ON c.job_id = r.job_id AND c.event = 'claimed' AND c.attempt = r.attempt + 1
                   WHERE r.job_id = ${id} AND r.event = 'retry_scheduled' AND c.at < r.run_after`);
  assert.equal(early[0][0], '0');
});

test('a job that keeps failing ends dead; an unknown kind fails permanently', async () => {
  const dead = enqueue(['system.sleep', '{"ms":0,"fail_attempts":5}', '--max-attempts', '2']);
  const unknown = enqueue(['no.such.kind', '{}']);
  await withWorker({}, async () => {
    const d = await waitJob(dead.id, (j) => ['completed', 'dead', 'failed'].includes(j.status));
    assert.equal(d.status, 'dead');
    assert.equal(d.attempts, 2);
    assert.ok(d.finished_at);
    assert.deepEqual(d.events.map((e) => e.event), ['enqueued', 'claimed', 'retry_scheduled', 'claimed', 'dead']);
    const u = await waitJob(unknown.id, (j) => ['completed', 'dead', 'failed'].includes(j.status));
    assert.equal(u.status, 'failed');
    assert.equal(u.attempts, 1);
    assert.match(u.last_error, /unknown job kind 'no\.such\.kind'/);
  });
  const list = cliploop(['jobs', 'list', '--status', 'dead'], env);
  assert.equal(list.status, 0);
  assert.match(list.stdout, new RegExp(`^${dead.id}\\s+dead\\s+system\\.sleep`, 'm'));
  assert.doesNotMatch(list.stdout, new RegExp(`^${unknown.id}\\s`, 'm'));
});

test('SIGKILL mid-job: the lease expires, another worker reclaims it, it completes exactly once', async () => {
  const leaseEnv = { CLIPLOOP_JOB_LEASE_MS: '1500' };
  const { id } = enqueue(['system.sleep', '{"ms":4000}', '--max-attempts', '3']);
  const w1 = startProcess(['worker'], { ...env, ...leaseEnv });
  await waitJob(id, (j) => j.status === 'running');
  await sleep(800); // past one heartbeat (lease/3 = 500 ms)
  const before = show(id);
  assert.ok(before.progress.done > 0, 'progress is reported while running');
  w1.child.kill('SIGKILL');
  await w1.exit;
  assert.equal(w1.exited.signal, 'SIGKILL');

  const [[status, attempts, lockedBy, leaseUntil]] =
    q(`SELECT status, attempts, locked_by, lease_until FROM jobs WHERE id = ${id}`);
  assert.equal(status, 'running');
  assert.equal(attempts, '1');
  await sleep(300); // nobody touches it while no worker runs
  assert.deepEqual(q(`SELECT status, attempts FROM jobs WHERE id = ${id}`), [['running', '1']]);

  await withWorker(leaseEnv, async (w2) => {
    const job = await waitJob(id, (j) => j.status === 'completed', 20000);
    assert.equal(job.attempts, 2);
    assert.deepEqual(job.result, { slept_ms: 4000, attempt: 2 });
    assert.match(w2.log, new RegExp(`claimed job ${id} kind=system\\.sleep attempt=2`));
  });
  const events = show(id).events;
  assert.deepEqual(events.map((e) => `${e.event}:${e.attempt}`),
    ['enqueued:0', 'claimed:1', 'lease_expired:1', 'claimed:2', 'completed:2']);
  const expired = events.find((e) => e.event === 'lease_expired');
  assert.equal(expired.worker, lockedBy);
  // The second claim happened only after the dead worker's last lease ran out.
  const [[afterLease]] = q(`SELECT at >= '${leaseUntil}'::timestamptz FROM job_events
                            WHERE job_id = ${id} AND event = 'claimed' AND attempt = 2`);
  assert.equal(afterLease, 't');
  assert.equal(q(`SELECT count(*) FROM job_events WHERE job_id = ${id} AND event = 'completed'`)[0][0], '1');
});

test('SIGTERM lets a running job finish, then exits 0', async () => {
  const { id } = enqueue(['system.sleep', '{"ms":1200}']);
  const w = startProcess(['worker'], env);
  await waitJob(id, (j) => j.status === 'running');
  const t0 = Date.now();
  const exit = await w.stop('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(Date.now() - t0 < 8000);
  const job = show(id);
  assert.equal(job.status, 'completed');
  assert.equal(job.attempts, 1);
});

test('after the shutdown grace period a running job is cancelled and retried later', async () => {
  const { id } = enqueue(['system.sleep', '{"ms":20000}', '--max-attempts', '3']);
  const w = startProcess(['worker'], { ...env, CLIPLOOP_SHUTDOWN_TIMEOUT_MS: '300', CLIPLOOP_JOB_BACKOFF_MS: '60000' });
  await waitJob(id, (j) => j.status === 'running');
  const t0 = Date.now();
  const exit = await w.stop('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(Date.now() - t0 < 5000, 'the worker did not wait for the 20 s job');
  const job = show(id);
  assert.equal(job.status, 'pending');
  assert.equal(job.attempts, 1);
  assert.match(job.last_error, /worker shut down/);
  assert.equal(job.events.at(-1).event, 'retry_scheduled');
  q(`DELETE FROM jobs WHERE id = ${id}`);
});

test('serve supervises a worker and restarts it when it is killed', async () => {
  const srv = await startServer({ dbUrl: db.url, migrate: false, env: { ...env, CLIPLOOP_WORKERS: '1' } });
  try {
    await srv.proc.waitForLog(/worker started pid=\d+/);
    const first = Number(srv.proc.log.match(/worker started pid=(\d+)/)[1]);
    await srv.proc.waitForLog(/\[worker\] worker \S+ ready/);
    process.kill(first, 'SIGKILL');
    await srv.proc.waitForLog(new RegExp(`worker pid=${first} was killed by signal 9`));
    await srv.proc.waitForLog(/worker started pid=\d+[\s\S]*worker started pid=\d+/);
    const pids = [...srv.proc.log.matchAll(/worker started pid=(\d+)/g)].map((m) => Number(m[1]));
    assert.equal(pids.length, 2);
    assert.notEqual(pids[1], first);
    const { id } = enqueue(['system.echo', '{"after":"restart"}']);
    const job = await waitJob(id, (j) => j.status === 'completed');
    assert.match(job.locked_by, new RegExp(`:${pids[1]}:`));
    const exit = await srv.stop('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, srv.proc.log);
    assert.throws(() => process.kill(pids[1], 0), /ESRCH/, 'the worker child is gone after serve stops');
  } finally {
    if (!srv.proc.exited) await srv.stop('SIGKILL');
  }
});
