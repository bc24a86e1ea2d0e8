// tests/bench/rollup.mjs — the rollup of one week (POST
// /api/strategy-cycles/:id/rollup: daily and cycle rows replaced, scores and
// classes, one transaction) against a reference measured in the same run:
// one plain aggregate scan of the same clicks and events inside Postgres
// (psql, \timing), the least any rollup has to read. Run it through
// tests/bench/rollup (which sets up Postgres and the build).
//
// Set-up: a week of 5 posts with BENCH_CLICKS clicks (default 100 000; 5 %
// bots, spread over 7 days and 20 000 visitors) and BENCH_CLICKS / 50
// conversions and revenue events. Each side runs BENCH_ROUNDS times (default
// 5) after one warm-up; the figure is the median. The ratio is rollup /
// scan (time: above 1 means slower).
import { spawnSync } from 'node:child_process';
import { createDatabase, startServer, apiClient, psql } from '../api/lib/harness.mjs';

const CLICKS = Number(process.env.BENCH_CLICKS || 100000);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const db = createDatabase('bench_rollup');
const srv = await startServer({ dbUrl: db.url, env: { MOCK_MODE: 'true', CLIPLOOP_ACCESS_LOG: 'false' } });
try {
  const c = apiClient(srv.url);
  await c.signup('bench@example.com');
  await c.post('/api/dev/approve-user', { email: 'bench@example.com', plan: 'beta' });
  const p = await c.post('/api/projects', { name: 'Bench', project_type: 'business' });
  const projectId = p.body.project?.id ?? p.body.id;
  const y = await c.post(`/api/projects/${projectId}/strategy-cycles`, { week_start: '2026-11-23' });
  const cycleId = y.body.cycle.id;
  psql(db.url, `INSERT INTO content_items (user_id, project_id, cycle_id, position, channel, draft)
    SELECT owner_id, id, ${cycleId}, g, 'instagram', '{"hook":"h"}' FROM projects, generate_series(1, 5) g WHERE id = ${projectId}`);
  const items = psql(db.url, `SELECT id FROM content_items WHERE cycle_id = ${cycleId} ORDER BY position`).map((r) => r[0]);
  const arr = `ARRAY[${items.join(',')}]::bigint[]`;
  psql(db.url, `INSERT INTO tracking_clicks (click_id, content_item_id, project_id, clicked_at, is_bot, visitor_hash)
    SELECT 'b' || g, (${arr})[1 + (g * 7919) % 5], ${projectId}, '2026-11-23'::timestamptz + (g % 604800) * interval '1 second',
      g % 20 = 0, 'v' || (g % 20000) FROM generate_series(1, ${CLICKS}) g;
    INSERT INTO tracking_events (project_id, kind, event_type, attributed_item_id, attributed_via, amount_minor, currency, auth, occurred_at)
    SELECT ${projectId}, CASE WHEN g % 2 = 0 THEN 'revenue' ELSE 'conversion' END, CASE WHEN g % 4 = 1 THEN 'signup' ELSE 'order' END,
      (${arr})[1 + g % 5], 'click', CASE WHEN g % 2 = 0 THEN 1000 + g END, CASE WHEN g % 2 = 0 THEN 'NGN' END, 'secret_key',
      '2026-11-23'::timestamptz + (g % 604800) * interval '1 second' FROM generate_series(1, ${Math.max(1, Math.floor(CLICKS / 50))}) g;
    ANALYZE tracking_clicks; ANALYZE tracking_events;`);

  const rollup = [];
  for (let i = 0; i < ROUNDS + 1; i++) {
    const t0 = process.hrtime.bigint();
    const r = await c.post(`/api/strategy-cycles/${cycleId}/rollup`);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 200) throw new Error(`rollup answered ${r.status}: ${r.text.slice(0, 200)}`);
    if (i > 0) rollup.push(ms);
  }

  // The reference: one aggregate pass over the same rows, timed by psql.
  const scan = `SELECT content_item_id, count(*) FILTER (WHERE NOT is_bot), count(DISTINCT visitor_hash)
      FROM tracking_clicks WHERE content_item_id = ANY(${arr}) GROUP BY 1;
    SELECT attributed_item_id, kind, count(*), sum(amount_minor) FROM tracking_events
      WHERE attributed_item_id = ANY(${arr}) GROUP BY 1, 2;`;
  const args = ['-X', '-q', db.url, '-c', '\\timing on'];
  for (let i = 0; i < ROUNDS + 1; i++) args.push('-c', scan);
  const out = spawnSync('psql', args, { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(out.stderr);
  const times = [...out.stdout.matchAll(/^Time: ([\d.]+) ms/gm)].map((m) => Number(m[1]));
  const ref = [];
  for (let i = 2; i + 1 < times.length; i += 2) ref.push(times[i] + times[i + 1]); // both statements, after one warm-up
  const r = median(rollup), s = median(ref);
  console.log(`rollup of one week: ${CLICKS} clicks, ${Math.floor(CLICKS / 50)} events, 5 posts, ${ROUNDS} rounds`);
  console.log(`  POST /rollup (HTTP, one transaction): median ${r.toFixed(1)} ms`);
  console.log(`  reference scan (psql, 2 aggregates):  median ${s.toFixed(1)} ms`);
  console.log(`  ratio rollup / scan: ${(r / s).toFixed(2)}`);
} finally {
  await srv.stop();
  db.drop();
}
