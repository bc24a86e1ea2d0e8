// The systemd units shipped in scripts/deploy/ pass `systemd-analyze verify`
// (no error and no warning: unknown or misspelled options are warnings) and
// carry the hardening docs/deploy.md promises. verify checks that
// ExecStart's binary exists, so each unit is verified as shipped except
// that path, which points at the binary under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, BIN } from './lib/harness.mjs';

const DIR = path.join(ROOT, 'scripts', 'deploy');
const INSTALLED_BIN = '/opt/cliploop/build/cliploop';
const units = readdirSync(DIR).filter((f) => f.endsWith('.service')).sort();

const analyzer = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const noAnalyzer = analyzer.error || analyzer.status !== 0
  ? `systemd-analyze cannot run here (${analyzer.error?.code || analyzer.stderr.trim()}); install the systemd package`
  : false;

test('the repository ships the serve unit and the worker template', () => {
  assert.deepEqual(units, ['cliploop-serve.service', 'cliploop-worker@.service']);
});

for (const unit of units) {
  test(`${unit} passes systemd-analyze verify`, { skip: noAnalyzer }, () => {
    const text = readFileSync(path.join(DIR, unit), 'utf8');
    assert.ok(text.includes(`ExecStart=${INSTALLED_BIN} `), `${unit} starts ${INSTALLED_BIN}`);
    const dir = mkdtempSync(path.join(tmpdir(), 'cliploop-units-'));
    try {
      // A template is verified through an instance of it.
      const name = unit.replace('@.service', '@1.service');
      writeFileSync(path.join(dir, name), text.replaceAll(INSTALLED_BIN, path.resolve(BIN)));
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', name], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal((r.stdout + r.stderr).trim(), '', `warnings for ${unit}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${unit} is hardened`, () => {
    const text = readFileSync(path.join(DIR, unit), 'utf8');
    const settings = new Map();
    for (const line of text.split('\n')) {
      const m = /^([A-Za-z]+)=(.*)$/.exec(line);
      if (m) settings.set(m[1], [...(settings.get(m[1]) || []), m[2]]);
    }
    const one = (k) => (settings.get(k) || []).join(' ');
    for (const [k, v] of Object.entries({
      NoNewPrivileges: 'yes', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes',
      PrivateDevices: 'yes', CapabilityBoundingSet: '', User: 'cliploop',
    })) assert.equal(one(k), v, `${unit}: ${k}`);
    assert.match(one('ReadWritePaths'), /\/srv\/cliploop\/storage/);
    assert.equal(one('Environment').includes('CLIPLOOP_ENV_FILE=/etc/cliploop/cliploop.env'), true);
    if (unit.startsWith('cliploop-serve')) {
      assert.match(one('Environment'), /CLIPLOOP_WORKERS=0/, 'the host leaves jobs to the worker units');
      assert.equal(one('MemoryDenyWriteExecute'), 'yes');
    }
  });
}
