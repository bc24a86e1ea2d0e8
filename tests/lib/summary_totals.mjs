// summary_totals.mjs — adds up the JSON summaries tests/lib/summary_reporter.mjs
// wrote for the `node --test` runs of one scripts/test suite.
//
//   node tests/lib/summary_totals.mjs TIMES FAILED SUMMARY.json...
//
// Prints "PASS FAIL MISSING": the passed tests, the failed ones (cancelled
// and timed-out tests count as failed, as scripts/test always counted them)
// and how many runs did not finish their summary (killed, e.g. by
// scripts/test's time bound: what their finished files had is counted).
// Each SUMMARY.json holds one JSON object per line; the last readable one
// counts. Writes TIMES: one line per test file, "SECONDS  FILE",
// slowest first; and FAILED: one line per failed test,
// "FILE > DESCRIBE > TEST: MESSAGE".
import { readFileSync, writeFileSync } from 'node:fs';

const [timesPath, failedPath, ...inputs] = process.argv.slice(2);
let pass = 0;
let fail = 0;
let missing = 0;
const files = [];
const failed = [];
for (const p of inputs) {
  let s = null;
  let text = '';
  try { text = readFileSync(p, 'utf8'); } catch { /* never written */ }
  for (const line of text.split('\n').reverse()) {
    try { s = JSON.parse(line); break; } catch { /* cut off mid-line, or empty */ }
  }
  if (!s || !s.complete) missing++;
  if (!s) continue;
  pass += s.pass;
  fail += s.fail + s.cancelled;
  files.push(...s.files);
  for (const f of s.failures) {
    const where = [f.file, ...f.suites, f.name].filter(Boolean).join(' > ');
    failed.push(f.message ? `${where}: ${f.message}` : where);
  }
}
files.sort((a, b) => b.ms - a.ms);
writeFileSync(timesPath, files.map((f) => `${(f.ms / 1000).toFixed(1).padStart(7)} s  ${f.file}${f.ok ? '' : '  (failed)'}\n`).join(''));
writeFileSync(failedPath, failed.map((l) => l.replace(/\s+/g, ' ') + '\n').join(''));
console.log(`${pass} ${fail} ${missing}`);
