// summary_reporter.mjs — a node:test reporter for scripts/test, used beside
// the spec reporter (`--test-reporter=spec --test-reporter-destination=stdout
// --test-reporter=./tests/lib/summary_reporter.mjs
// --test-reporter-destination=FILE`). It writes one JSON object per line
// to FILE: what is known so far each time a test file ends ("complete":
// false; a run killed by a time bound leaves these), and the totals at the
// end ("complete": true):
//
//   { "pass": N, "fail": N, "cancelled": N, "skipped": N, "todo": N,
//     "failures": [{ "file", "suites": [...], "name", "failure", "message" }],
//     "files": [{ "file", "ms", "ok" }], "complete": true }
//
// The counts are the spec reporter's ("ℹ pass N" …): tests, not suites; a
// file that fails outside any test counts as one failed test; skipped and
// todo tests are not passes. "failures" names every failed test with the
// suites (describe) it sits in; "files" gives each file's wall time, so
// scripts/test can add up several `node --test` runs and list what failed
// and what was slow.
import path from 'node:path';

const rel = (f) => (f ? path.relative(process.cwd(), f) : '');

export default async function* summaryReporter(source) {
  const out = { pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0, failures: [], files: [] };
  const stacks = new Map(); // file -> names of the tests started at each nesting level
  for await (const { type, data } of source) {
    if (!data) continue;
    const file = data.file;
    if (type === 'test:start') {
      const s = stacks.get(file) || [];
      s.length = data.nesting;
      s[data.nesting] = data.name;
      stacks.set(file, s);
      continue;
    }
    if (type === 'test:complete' && data.nesting === 0 && file && data.name === file) {
      out.files.push({ file: rel(file), ms: Math.round(data.details?.duration_ms ?? 0), ok: data.passed !== false && !data.details?.error });
      // What is known so far, in case the run is killed before its end.
      yield JSON.stringify({ ...out, complete: false }) + '\n';
      continue;
    }
    if (type !== 'test:pass' && type !== 'test:fail') continue;
    const isSuite = data.details?.type === 'suite';
    if (type === 'test:pass') {
      if (isSuite) continue;
      if (data.skip !== undefined && data.skip !== false) out.skipped++;
      else if (data.todo !== undefined && data.todo !== false) out.todo++;
      else out.pass++;
      continue;
    }
    const err = data.details?.error;
    const failure = err?.failureType || 'testCodeFailure';
    // A suite fails when one of its tests did (already listed); list it only
    // when it failed by itself (a hook).
    if (isSuite && failure === 'subtestsFailed') continue;
    if (!isSuite) {
      if (data.todo !== undefined && data.todo !== false) { out.todo++; continue; }
      if (failure === 'cancelledByParent' || failure === 'testTimeoutFailure') out.cancelled++;
      else out.fail++;
    }
    const s = stacks.get(file) || [];
    const cause = err?.cause ?? err;
    // The whole message on one line (an assertion's diff follows its first line).
    const message = String(cause?.message ?? cause ?? '').replace(/\s+/g, ' ').trim();
    out.failures.push({
      file: rel(file),
      suites: s.slice(0, data.nesting).filter((n) => n !== file),
      name: data.name === file ? '(the file itself, outside any test)' : data.name,
      failure,
      message: message.slice(0, 240),
    });
  }
  yield JSON.stringify({ ...out, complete: true }) + '\n';
}
