// private_pg.mjs — a Postgres cluster of one test file, which that test may
// stop and start (fault tests) without disturbing the shared test cluster
// other files use. Started and stopped by the project's own helpers
// (scripts/lib/postgres.sh, profile "private"): initdb runs as the
// unprivileged user cliploop-pg when the tests run as root, Unix socket only.
//
//   const pg = await startPrivateCluster('faults');
//   pg.adminUrl            libpq URL of database "postgres" (create databases here)
//   pg.createDatabase()    { url, name } of a fresh database
//   pg.stop()              pg_ctl stop -m fast (clients see an admin shutdown)
//   pg.start()             start it again (same data, same socket)
//   pg.destroy()           stop and delete everything
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, psql } from './harness.mjs';

function helper(dir, what) {
  const env = {
    ...process.env, CL_ROOT: ROOT, CL_PG_PROFILE: 'private',
    CL_PG_DATA: path.join(dir, 'data'), CL_PG_SOCK: path.join(dir, 'run'), CL_PG_LOG: path.join(dir, 'pg.log'),
  };
  delete env.DATABASE_URL; // cl_pg_start would reuse it instead of starting a cluster
  const r = spawnSync('bash', ['-c', `. "$CL_ROOT/scripts/lib/postgres.sh" && ${what}`], { env, encoding: 'utf8', timeout: 120000 });
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr}`);
}

export async function startPrivateCluster(prefix = 'pg') {
  // Short path: the socket file's path must stay under 108 bytes.
  const dir = mkdtempSync(path.join(tmpdir(), `cl-${prefix}-`));
  chmodSync(dir, 0o755); // the cluster's user must reach data/ and run/ when we are root
  helper(dir, 'cl_pg_start');
  const adminUrl = `postgresql:///postgres?host=${encodeURIComponent(path.join(dir, 'run'))}&user=postgres`;
  let n = 0;
  return {
    dir,
    adminUrl,
    createDatabase(name = `${prefix}_${process.pid}_${n++}`) {
      psql(adminUrl, `CREATE DATABASE ${name}`);
      const u = new URL(adminUrl);
      u.pathname = '/' + name;
      return { url: u.toString(), name };
    },
    stop() { helper(dir, 'cl_pg_find_bindir && cl_pg_as_owner "$CL_PG_BINDIR/pg_ctl" -D "$CL_PG_DATA" -m fast -w -t 60 stop >/dev/null'); },
    start() { helper(dir, 'cl_pg_start'); },
    destroy() {
      try { helper(dir, 'cl_pg_stop'); } catch { /* already stopped */ }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
