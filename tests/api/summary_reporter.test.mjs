// scripts/test's counting: tests/lib/summary_reporter.mjs gives the same
// counts as the spec reporter beside it (the numbers scripts/test always
// showed), names each failed test with its file and describe blocks, and
// tests/lib/summary_totals.mjs adds up several runs (the parallel and the
// run-alone one), counting a run without a summary as missing. The runs are
// over the fixture files in tests/lib/fixtures/, which no suite runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from './lib/harness.mjs';

const FIXTURES = path.join(ROOT, 'tests', 'lib', 'fixtures');
const REPORTER = path.join(ROOT, 'tests', 'lib', 'summary_reporter.mjs');
const TOTALS = path.join(ROOT, 'tests', 'lib', 'summary_totals.mjs');

// A node --test of its own, not one reporting to this file's runner.
const outside = { ...process.env };
delete outside.NODE_TEST_CONTEXT;

/** node --test FILES (cwd ROOT) with spec and the summary reporter: { spec counts, summary }. */
function run(dir, files, concurrency) {
  const json = path.join(dir, `summary-${concurrency}.json`);
  const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`,
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${REPORTER}`, `--test-reporter-destination=${json}`,
    ...files.map((f) => path.join(FIXTURES, f))], { cwd: ROOT, encoding: 'utf8', timeout: 120000, env: outside });
  assert.notEqual(r.status, 0, 'the fixtures fail, so node --test exits non-zero');
  const spec = {};
  for (const m of r.stdout.replace(/\x1b\[[0-9;]*m/g, '').matchAll(/^\S+ (pass|fail|cancelled|skipped|todo) (\d+)$/gm)) spec[m[1]] = Number(m[2]);
  const lines = readFileSync(json, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, files.length + 1, 'a line as each file ends, then the totals');
  assert.ok(lines.slice(0, -1).every((l) => l.complete === false) && lines.at(-1).complete === true);
  return { spec, summary: lines.at(-1), lines, json };
}

test('the summary counts what the spec reporter counts and names each failure with file and describe blocks', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cliploop-summary-'));
  try {
    const { spec, summary } = run(dir, ['suite_fails.test.mjs', 'mixed.test.mjs', 'crashes.test.mjs'], 3);
    for (const k of ['pass', 'fail', 'cancelled', 'skipped', 'todo']) assert.equal(summary[k], spec[k], `${k}: ${JSON.stringify({ spec, summary })}`);
    assert.deepEqual([summary.pass, summary.fail, summary.cancelled, summary.skipped, summary.todo], [3, 2, 2, 1, 1]);
    const names = summary.failures.map((f) => [f.file, ...f.suites, f.name].join(' > '));
    const fx = 'tests/lib/fixtures/';
    assert.ok(names.includes(`${fx}suite_fails.test.mjs > outer > inner > fails`), names.join('\n'));
    assert.ok(names.includes(`${fx}mixed.test.mjs > hooked > never runs`), names.join('\n'));
    assert.ok(names.includes(`${fx}mixed.test.mjs > hooked`), 'a failed hook names its describe block');
    assert.ok(names.includes(`${fx}mixed.test.mjs > times out`), names.join('\n'));
    assert.ok(names.includes(`${fx}crashes.test.mjs > (the file itself, outside any test)`), names.join('\n'));
    assert.ok(!names.some((n) => /passes|skipped|todo/.test(n)), names.join('\n'));
    const boom = summary.failures.find((f) => f.name === 'fails');
    assert.equal(boom.message, 'boom second line', 'the message on one line');
    assert.deepEqual(summary.files.map((f) => [f.file, f.ok]).sort(),
      [[`${fx}crashes.test.mjs`, false], [`${fx}mixed.test.mjs`, false], [`${fx}suite_fails.test.mjs`, false]]);
    assert.ok(summary.files.every((f) => f.ms > 0));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the totals add up two runs, list every failure and each file slowest first; a run without a summary is missing', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cliploop-summary-'));
  try {
    const a = run(dir, ['suite_fails.test.mjs'], 3);
    const b = run(dir, ['mixed.test.mjs'], 1);
    const times = path.join(dir, 'times');
    const failed = path.join(dir, 'failed');
    const t = (...jsons) => spawnSync(process.execPath, [TOTALS, times, failed, ...jsons], { encoding: 'utf8' });
    let r = t(a.json, b.json);
    assert.equal(r.status, 0, r.stderr);
    // suite_fails: 2 passed, 1 failed; mixed: 1 passed, a cancelled and a timed-out test (both count as failed)
    const pass = a.summary.pass + b.summary.pass;
    const fail = a.summary.fail + a.summary.cancelled + b.summary.fail + b.summary.cancelled;
    assert.equal(r.stdout.trim(), `${pass} ${fail} 0`);
    assert.deepEqual([pass, fail], [3, 3]);
    const lines = readFileSync(failed, 'utf8').trim().split('\n');
    assert.equal(lines.length, a.summary.failures.length + b.summary.failures.length);
    assert.ok(lines.includes('tests/lib/fixtures/suite_fails.test.mjs > outer > inner > fails: boom second line'), lines.join('\n'));
    const secs = readFileSync(times, 'utf8').trim().split('\n').map((l) => Number(l.trim().split(/\s+/)[0]));
    assert.equal(secs.length, 2);
    assert.ok(secs[0] >= secs[1], `slowest first: ${secs}`);
    // A run killed before it wrote anything, and one killed after its first file
    // (its line for that file counts, cut off in the middle of the next).
    writeFileSync(path.join(dir, 'cut.json'), '{"pass":');
    r = t(a.json, path.join(dir, 'cut.json'), path.join(dir, 'none.json'));
    assert.equal(r.stdout.trim(), `${a.summary.pass} ${a.summary.fail + a.summary.cancelled} 2`);
    writeFileSync(path.join(dir, 'killed.json'), JSON.stringify(b.lines[0]) + '\n{"pass":');
    r = t(path.join(dir, 'killed.json'));
    assert.equal(r.stdout.trim(), `${b.lines[0].pass} ${b.lines[0].fail + b.lines[0].cancelled} 1`);
    assert.ok(readFileSync(times, 'utf8').includes('tests/lib/fixtures/mixed.test.mjs'), 'the finished file is listed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
