// tests/bench/export.mjs — bulk export bundles (GET /api/manual-queue/export,
// libarchive, SHA-256 manifests, streamed over HTTP) against Info-ZIP's `zip -0`
// packing the same files laid out the same way, in one run. Run it through
// tests/bench/export (which sets up Postgres and the build).
//
// Set-up: one promo rendered by the real renderer, copied (in SQL) into
// BENCH_ITEMS items (default 10). Each side then builds BENCH_ROUNDS (default
// 5) bundles of all items; the figure is the median wall time per bundle and
// its throughput. The ratio is host / zip (time: above 1 means slower).
import { mkdtempSync, rmSync, mkdirSync, copyFileSync, writeFileSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, psql, startProcess } from '../api/lib/harness.mjs';
import { startInstagramFake } from '../fakes/instagram_fake.mjs';
import { startPublishingServer, userWithProject, renderedItem, copyItem } from '../api/lib/publishing.mjs';

const ITEMS = Number(process.env.BENCH_ITEMS || 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const db = createDatabase('bench_export');
const storage = mkdtempSync(path.join(tmpdir(), 'cliploop-bench-export-'));
const fake = await startInstagramFake();
const srv = await startPublishingServer({ db, fake, storage, env: { CLIPLOOP_ACCESS_LOG: 'false' } });
try {
  const { c, projectId } = await userWithProject(srv, 'bench@example.com');
  const w = startProcess(['worker'], srv.env);
  let base;
  try { base = await renderedItem(c, projectId, 'tiktok'); } finally { await w.stop(); }
  const ids = [base.id];
  while (ids.length < ITEMS) ids.push(copyItem(db.url, base.id, 'tiktok'));

  const host = [];
  let bytes = 0;
  for (let i = 0; i < ROUNDS + 1; i++) {
    const t0 = process.hrtime.bigint();
    const r = await fetch(`${srv.url}/api/manual-queue/export?ids=${ids.join(',')}`, { headers: { cookie: c.cookie } });
    const buf = Buffer.from(await r.arrayBuffer());
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 200) throw new Error(`export answered ${r.status}: ${buf.toString().slice(0, 200)}`);
    bytes = buf.length;
    if (i > 0) host.push(ms); // the first round warms caches
  }

  // The reference: the same files (video, thumbnail, texts) per item folder, packed by zip -0.
  const dir = mkdtempSync(path.join(tmpdir(), 'cliploop-bench-zip-'));
  const [video, thumb] = ['video', 'thumbnail'].map((k) => path.join(storage,
    psql(db.url, `SELECT path FROM content_assets WHERE content_item_id = ${base.id} AND kind = '${k}'`)[0][0]));
  for (const id of ids) {
    const d = path.join(dir, 'b', `item-${id}`, 'assets');
    mkdirSync(d, { recursive: true });
    copyFileSync(video, path.join(d, 'video.mp4'));
    copyFileSync(thumb, path.join(d, 'thumbnail.jpg'));
    for (const f of ['caption.txt', 'cta.txt', 'README.txt', 'manifest.json'])
      writeFileSync(path.join(dir, 'b', `item-${id}`, f), readFileSync(new URL(import.meta.url)).subarray(0, 600));
  }
  const ref = [];
  for (let i = 0; i < ROUNDS + 1; i++) {
    rmSync(path.join(dir, 'out.zip'), { force: true });
    const t0 = process.hrtime.bigint();
    const z = spawnSync('zip', ['-0', '-q', '-r', path.join(dir, 'out.zip'), '.'], { cwd: path.join(dir, 'b') });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (z.status !== 0) throw new Error(`zip failed: ${z.stderr}`);
    if (i > 0) ref.push(ms);
  }
  rmSync(dir, { recursive: true, force: true });
  const h = median(host), z = median(ref);
  const mb = bytes / 1048576;
  console.log(`export bench: ${ITEMS} items, bundle ${mb.toFixed(1)} MiB, median of ${ROUNDS} rounds`);
  console.log(`  host  GET /api/manual-queue/export  ${h.toFixed(1)} ms  ${(mb / (h / 1000)).toFixed(0)} MiB/s (libarchive + SHA-256 + HTTP)`);
  console.log(`  zip -0 (Info-ZIP, same files)        ${z.toFixed(1)} ms  ${(mb / (z / 1000)).toFixed(0)} MiB/s`);
  console.log(`  ratio host/zip (time)                ${(h / z).toFixed(2)}`);
} finally {
  await srv.stop();
  await fake.close();
  db.drop();
  rmSync(storage, { recursive: true, force: true });
}
