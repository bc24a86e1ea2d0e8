// Fault suite: the storage fills up during a render. The worker runs with a
// real OS limit, RLIMIT_FSIZE (bash's `ulimit -f`): every write past 16 KiB
// fails with EFBIG, as writes fail with ENOSPC on a full disk, so the
// renderer's MP4 write fails part-way through the video. The job must fail
// clearly (a message the user can act on, no paths), refund the render
// credit, and leave no asset rows and no files; the worker keeps running
// (SIGXFSZ is ignored). content.test.mjs and deadletter.test.mjs render
// again from render_failed; a full render is left out here to keep the suite short.
// run-alone: fault suite: a worker under a file-size limit, renders it expects to fail part-way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { startMockServer, startProcess, apiClient, psql, demoProject } from './lib/harness.mjs';
import { DRAFT } from './lib/publishing.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let db, srv, storage, c, userId, projectId, world;

/** Every regular file under dir (recursive), as paths relative to dir. */
function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    let names;
    try { names = readdirSync(d); } catch { return; }
    for (const n of names) {
      const p = path.join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

async function waitForItem(id, pred, what, proc, ms = 120000) {
  const end = Date.now() + ms;
  for (;;) {
    const r = await c.get(`/api/content-items/${id}`);
    if (pred(r.body)) return r.body;
    if (Date.now() > end) throw new Error(`item never ${what}: ${JSON.stringify(r.body)}\n${proc.log.slice(-3000)}`);
    await sleep(200);
  }
}

const balance = () => Number(psql(db.url, `SELECT render_balance FROM credit_accounts WHERE user_id = ${userId}`)[0][0]);

before(async () => {
  world = await startMockServer('faultdisk', {
    storage: true,
    env: { CLIPLOOP_WORKERS: '0', CLIPLOOP_JOB_POLL_MS: '100', CLIPLOOP_JOB_BACKOFF_MS: '100', CLIPLOOP_JOB_MAX_ATTEMPTS: '2',
      CLIPLOOP_WORKER_CONCURRENCY: '1' },
  });
  ({ db, srv, storage } = world);
  c = apiClient(srv.url);
  ({ userId, projectId } = await demoProject(c, db.url, {
    business_name: 'Mama Put Kitchen', category: 'Restaurant', city: 'Lagos', target_audience: 'Office workers nearby',
    primary_offer: 'Party jollof trays',
  }));
  assert.equal((await c.get('/api/me/credits')).status, 200); // the monthly grant
  psql(db.url, `UPDATE credit_accounts SET render_balance = 5 WHERE user_id = ${userId}`);
});

after(() => world?.stop());

test('a render that runs out of room fails clearly, refunds, and keeps no asset rows or files', async () => {
  const created = await c.post('/api/content-items', { project_id: projectId, channel: 'tiktok', title: 'Jollof weekend', draft: DRAFT });
  assert.equal(created.status, 201, created.text);
  const itemId = created.body.id;
  assert.ok(itemId, created.text);

  const before = balance();
  const w = startProcess(['worker'], srv.env, { fileSizeKiB: 16 });
  let failed;
  try {
    const r = await c.post(`/api/content-items/${itemId}/render`);
    assert.equal(r.status, 202, r.text);
    assert.equal(balance(), before - 1, 'the render credit is charged up front');
    failed = await waitForItem(itemId, (x) => x.status === 'render_failed', 'failed', w);
    // The worker survived the oversized write (no SIGXFSZ death) and is still serving.
    assert.equal(w.exited, null, `worker died: ${JSON.stringify(w.exited)}\n${w.log}`);
    assert.match(w.log, /File too large/, 'the write really failed with EFBIG');
  } finally {
    await w.stop();
  }
  // A clear message for the user: what happened and what to do, no server paths.
  assert.match(failed.render_error, /no room left to store the video/i);
  assert.doesNotMatch(failed.render_error, /\//);
  // Refunded once: the balance is back where it was.
  assert.equal(balance(), before);
  const ledger = psql(db.url, `SELECT reason, amount FROM credit_ledger_entries WHERE user_id = ${userId} AND kind = 'render' AND reason IN ('charge', 'refund') ORDER BY id`)
    .map(([reason, amount]) => `${reason}:${amount}`);
  assert.equal(ledger.length, 2, ledger.join(', '));
  assert.equal(ledger.reduce((s, e) => s + Number(e.split(':')[1]), 0), 0, ledger.join(', '));
  // No half-written rows or files.
  assert.equal(psql(db.url, `SELECT count(*) FROM content_assets WHERE content_item_id = ${itemId}`)[0][0], '0');
  assert.deepEqual(filesUnder(storage), []);
  assert.equal(existsSync(path.join(storage, 'generated', 'content-items', String(itemId))), false);
  const [jobStatus, attempts] = psql(db.url, `SELECT status, attempts FROM jobs WHERE kind = 'render.content_item'`)[0];
  assert.ok(['dead', 'failed'].includes(jobStatus), jobStatus);
  assert.equal(attempts, '2');
});
