// tests/bench/lighthouse/run.mjs — Lighthouse (npm, its default mobile
// preset: Moto G Power-class emulation, simulated slow 4G and 4x CPU
// slowdown) on the main pages, signed out and signed in as the demo user,
// driving Debian's /usr/bin/chromium. Prints one line per page with the four
// category scores (0-100) and the failed audits of any category below 100.
// Not part of the test suite: run it through tests/bench/lighthouse-scores.
// Scores measured while other work runs on the machine are noisy
// (performance especially); re-run on a quiet machine for figures.
import lighthouse from 'lighthouse';
import * as chromeLauncher from 'chrome-launcher';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, startServer } from '../../api/lib/harness.mjs';

const CATEGORIES = ['performance', 'accessibility', 'best-practices', 'seo'];
// Lighthouse's trace engine prints the stack of a LanternError when an
// optional insight cannot be computed (the scores are unaffected): keep the output readable.
const consoleError = console.error;
console.error = (...args) => { if (!args.some((a) => /LanternError/.test(String(a && (a.stack || a))))) consoleError(...args); };

const db = createDatabase('bench_lighthouse');
const storage = mkdtempSync(path.join(tmpdir(), 'cliploop-bench-lh-'));
const srv = await startServer({ dbUrl: db.url, env: { MOCK_MODE: 'true', CLIPLOOP_WORKERS: '1', CLIPLOOP_STORAGE_DIR: storage,
  CLIPLOOP_JOB_POLL_MS: '100', CLIPLOOP_ACCESS_LOG: 'false' } });
const chrome = await chromeLauncher.launch({ chromePath: process.env.CLIPLOOP_CHROMIUM || '/usr/bin/chromium',
  chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'] });
let worst = 100;
try {
  // The demo user with a project, a rendered promo and a chat, as in tests/e2e/audit.test.mjs.
  const login = await fetch(srv.url + '/api/dev/demo-login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const { csrf_token: csrf } = await login.json();
  const call = async (method, p, body) => {
    const r = await fetch(srv.url + p, { method, headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined });
    if (r.status >= 400) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  let project = (await call('GET', '/api/projects')).projects.find((p) => p.status === 'active');
  if (!project) {
    const r = await call('POST', '/api/projects', { name: 'Mama Put Kitchen', project_type: 'business', business_name: 'Mama Put Kitchen',
      category: 'Restaurant', city: 'Lagos', target_audience: 'Office workers', primary_offer: 'Party trays',
      preferred_channels: ['instagram'], language_style: 'english', timezone: 'Africa/Lagos', onboarding_step: 'done' });
    project = r.project || r;
  }
  const { brief } = await call('POST', '/api/create/brief', { project_id: project.id, prompt: 'Half price jollof trays every Friday in Ikeja', channel: 'instagram' });
  const gen = await call('POST', '/api/create/generate', { project_id: project.id, brief, channel: 'instagram', render: true, request_id: 'bench-lighthouse-1' });
  for (let i = 0; i < 300; i++) {
    const it = await call('GET', `/api/content-items/${gen.content_item_id}`);
    if (it.assets.some((a) => a.kind === 'video')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const chat = await call('POST', '/api/chats', { project_id: project.id });

  const pages = [
    ['/', false], ['/pricing', false], ['/login.html', false], ['/signup.html', false],
    ['/app', true], ['/app/create', true], ['/app/chats', true], [`/app/chats/${chat.id}`, true],
    [`/app/projects/${project.id}`, true], [`/app/projects/${project.id}/weeks/current`, true], ['/dashboard/settings', true],
  ];
  console.log('page                                   perf  a11y  best   seo');
  for (const [p, signedIn] of pages) {
    const flags = { port: chrome.port, output: 'json', logLevel: 'error', onlyCategories: CATEGORIES,
      ...(signedIn ? { extraHeaders: { Cookie: cookie } } : {}) };
    const { lhr } = await lighthouse(srv.url + p, flags);
    const scores = CATEGORIES.map((c) => Math.round((lhr.categories[c].score ?? 0) * 100));
    worst = Math.min(worst, ...scores);
    console.log(`${(signedIn ? 'in  ' : 'out ') + p}`.padEnd(38), scores.map((s) => String(s).padStart(5)).join(' '));
    for (const c of CATEGORIES) {
      if (lhr.categories[c].score === 1) continue;
      for (const ref of lhr.categories[c].auditRefs) {
        const a = lhr.audits[ref.id];
        if (ref.weight > 0 && a.score !== null && a.score < 1) {
          console.log(`      ${c}: ${a.id} (${a.score}) ${a.displayValue || ''} — ${a.title}`);
        }
      }
    }
  }
  console.log(`lowest score: ${worst}`);
} finally {
  await chrome.kill();
  await srv.stop();
  db.drop();
  rmSync(storage, { recursive: true, force: true });
}
