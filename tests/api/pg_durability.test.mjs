// The private Postgres clusters of scripts/lib/postgres.sh: the one
// scripts/run serves real data from (var/pg) is durable — fsync,
// synchronous_commit and full_page_writes on, and a running non-durable one
// is restarted durable; the one scripts/test uses (var/pg-test) keeps them
// off for speed and never shares data with the first.
// run-alone: it starts and restarts Postgres clusters of its own (initdb, fsync on).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from './lib/harness.mjs';

const root = mkdtempSync(path.join(tmpdir(), 'cliploop-pgroot-'));
const LIB = path.join(ROOT, 'scripts', 'lib', 'postgres.sh');

/** Run bash with the library sourced for a profile; returns stdout (throws on failure). */
function withLib(profile, script) {
  const r = spawnSync('bash', ['-c', `set -e; CL_ROOT="$1"; CL_PG_PROFILE="$2"; . "$3"; cl_pg_find_bindir; ${script}`,
    'x', root, profile, LIB], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' }, timeout: 120000 });
  if (r.status !== 0) throw new Error(`bash failed (${r.status}): ${r.stderr}\n${r.stdout}`);
  return r.stdout.trim();
}
const SETTINGS = `psql -X -tA "$CLIPLOOP_PG_ADMIN_URL" -c "SELECT current_setting('fsync') || ',' || current_setting('synchronous_commit') || ',' || current_setting('full_page_writes')"`;

after(() => {
  for (const p of ['run', 'test']) {
    try { withLib(p, 'cl_pg_stop'); } catch { /* best effort */ }
  }
  rmSync(root, { recursive: true, force: true });
});

test("scripts/run's cluster is durable; a non-durable running one is restarted durable", () => {
  assert.equal(withLib('run', `unset DATABASE_URL; cl_pg_start; ${SETTINGS}`), 'on,on,on');
  assert.ok(existsSync(path.join(root, 'var', 'pg', 'PG_VERSION')));
  // The way the cluster used to be started (shared with the tests): fsync off.
  withLib('run', `cl_pg_as_owner "$CL_PG_BINDIR/pg_ctl" -D "$CL_PG_DATA" -m fast -w stop >/dev/null
    cl_pg_as_owner "$CL_PG_BINDIR/pg_ctl" -D "$CL_PG_DATA" -l "$CL_PG_LOG" -w \
      -o "-k $CL_PG_SOCK -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null`);
  const out = withLib('run', `unset DATABASE_URL; cl_pg_start 2>&1 | sed 's/^/log: /'; ${SETTINGS.replace('"$CLIPLOOP_PG_ADMIN_URL"', '"postgresql:///postgres?host=$CL_PG_SOCK&user=postgres"')}`);
  assert.match(out, /restarting it durable/);
  assert.match(out, /on,on,on$/);
});

test("scripts/test's cluster is a separate one with fsync off", () => {
  assert.equal(withLib('test', `unset DATABASE_URL; cl_pg_start; ${SETTINGS}`), 'off,off,off');
  assert.ok(existsSync(path.join(root, 'var', 'pg-test', 'PG_VERSION')));
  assert.match(withLib('test', 'unset DATABASE_URL; cl_pg_start; echo "$CLIPLOOP_PG_ADMIN_URL"'), /var\/run-test/);
  // The durable cluster is still durable next to it.
  assert.equal(withLib('run', `unset DATABASE_URL; cl_pg_start; ${SETTINGS}`), 'on,on,on');
});
