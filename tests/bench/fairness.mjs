// tests/bench/fairness.mjs — bystander latency while one user keeps
// BENCH_PARALLEL (default 12) briefs running against a provider that takes
// BENCH_DELAY_MS (default 3000) per answer. Run it through
// tests/bench/fairness (which sets up Postgres and the build).
//
// One server (the real openai_compat plugin against tests/fakes/llm_fake.mjs,
// model fake-brief-slow-<ms>: a valid brief after the delay), two users.
//   reference  the bystander alone: GET /api/me and GET /healthz one after
//              the other, for BENCH_SECONDS (default 10);
//   under load the "busy" user keeps BENCH_PARALLEL briefs in flight (each
//              answered one starts the next; 429s are retried after 100 ms)
//              while the bystander measures the same way again.
// Prints p50/p99 of each route in both phases, the ratio load/reference, and
// what the busy user got (200s, 429s). The target is a bystander p99 under
// 100 ms under load.
import { createDatabase, startServer, apiClient, demoProject, betaUser } from '../api/lib/harness.mjs';
import { startLlmFake } from '../fakes/llm_fake.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const DELAY = Number(process.env.BENCH_DELAY_MS || 3000);
const PARALLEL = Number(process.env.BENCH_PARALLEL || 12);
const PER_USER = process.env.BENCH_PER_USER; // CLIPLOOP_LLM_PER_USER for the run (default: the server's, 4)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

async function timed(fn) {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  if (r.status !== 200) throw new Error(`bystander got ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** The bystander's loop: /api/me then /healthz, for SECONDS. */
async function measure(url, by) {
  const me = [], health = [];
  const end = Date.now() + SECONDS * 1000;
  while (Date.now() < end) {
    me.push(await timed(() => by.get('/api/me')));
    health.push(await timed(() => fetch(url + '/healthz')));
  }
  return { me, health };
}

const db = createDatabase('bench_fair');
const fake = await startLlmFake();
const srv = await startServer({
  dbUrl: db.url,
  env: {
    MOCK_MODE: 'true', LLM_PROVIDER: 'openai_compat', OPENAI_COMPAT_BASE_URL: fake.baseUrl,
    OPENAI_COMPAT_API_KEY: 'bench-key', OPENAI_COMPAT_MODEL: `fake-brief-slow-${DELAY}`,
    CLIPLOOP_HTTP_ALLOW_LOOPBACK: 'true', CLIPLOOP_ACCESS_LOG: 'false', CLIPLOOP_LOG_LEVEL: 'warn',
    CLIPLOOP_SCRYPT_LOG_N: '10', ...(PER_USER ? { CLIPLOOP_LLM_PER_USER: PER_USER } : {}),
  },
});
try {
  const busy = apiClient(srv.url);
  const { projectId } = await demoProject(busy, db.url, {
    business_name: 'Tola Shoes', category: 'Footwear', city: 'Abuja', target_audience: 'Students',
    primary_offer: 'Handmade leather sandals',
  });
  const by = await betaUser(srv.url, 'bystander@example.com');
  const first = await busy.post('/api/create/brief', { project_id: projectId, prompt: 'Sandals, 2 for 1 this weekend' });
  if (first.status !== 200) throw new Error(`brief answered ${first.status}: ${first.text}`);

  const ref = await measure(srv.url, by);

  let running = true;
  const got = { ok: 0, limited: 0, other: 0 };
  const worker = async () => {
    while (running) {
      const r = await busy.post('/api/create/brief', { project_id: projectId, prompt: 'Sandals, 2 for 1 this weekend' });
      if (r.status === 200) got.ok++;
      else if (r.status === 429) { got.limited++; await sleep(100); } else got.other++;
    }
  };
  const workers = Array.from({ length: PARALLEL }, worker);
  await sleep(500); // every worker has a brief in flight
  const load = await measure(srv.url, by);
  running = false;
  await Promise.all(workers);

  const row = (name, a, b) => {
    const [r50, r99, l50, l99] = [pct(a, 0.5), pct(a, 0.99), pct(b, 0.5), pct(b, 0.99)];
    console.log(`  ${name.padEnd(9)} reference p50 ${r50.toFixed(2)} ms  p99 ${r99.toFixed(2)} ms (n=${a.length})` +
      `   under load p50 ${l50.toFixed(2)} ms  p99 ${l99.toFixed(2)} ms (n=${b.length})   ratio p99 ${(l99 / r99).toFixed(2)}`);
    return l99;
  };
  console.log(`fairness bench: bystander latency while another user keeps ${PARALLEL} briefs running against a ${DELAY} ms provider,` +
    ` ${SECONDS} s per phase, CLIPLOOP_LLM_PER_USER=${PER_USER || 'default (4)'}`);
  const p99me = row('/api/me', ref.me, load.me);
  const p99h = row('/healthz', ref.health, load.health);
  console.log(`  busy user: ${got.ok} briefs answered, ${got.limited} x 429 too_many_requests, ${got.other} other`);
  const worst = Math.max(p99me, p99h);
  console.log(`  bystander p99 under load ${worst.toFixed(2)} ms (target < 100 ms): ${worst < 100 ? 'met' : 'NOT met'}`);
} finally {
  await srv.stop();
  await fake.close();
  db.drop();
}
