// scripts/audit.mjs, the `npm audit` gate `npm test` runs: high or critical findings fail, an advisory service
// that cannot be asked is NOT CHECKED (fails only with WARDEN_AUDIT_REQUIRED=1), unreadable output fails.
// `npm` here is a FAKE of the external npm CLI (a shell script first on PATH) printing what the real one prints
// in each case, since this workplace's registry cannot answer audits and real findings cannot be staged.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';

const dir = mkdtempSync(join(tmpdir(), 'warden-audit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const SCRIPT = resolve('scripts/audit.mjs');

function runAudit(npmStdout: string, env: Record<string, string> = {}): { code: number | null; out: string } {
  const answer = join(dir, 'answer.json');
  writeFileSync(answer, npmStdout);
  const fakeNpm = join(dir, 'npm');
  writeFileSync(fakeNpm, `#!/bin/sh\ncat '${answer}'\nexit 1\n`);
  chmodSync(fakeNpm, 0o755);
  const r = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, WARDEN_AUDIT_REQUIRED: '', ...env } });
  return { code: r.status, out: r.stdout + r.stderr };
}

const counts = (high: number, critical: number) => JSON.stringify({
  vulnerabilities: high + critical > 0 ? { 'left-pad': { severity: critical ? 'critical' : 'high', range: '<1.3.0' } } : {},
  metadata: { vulnerabilities: { info: 0, low: 2, moderate: 1, high, critical, total: 3 + high + critical } },
});

test('high or critical findings in production dependencies fail the gate and are named', () => {
  const high = runAudit(counts(1, 0));
  assert.equal(high.code, 1);
  assert.match(high.out, /high: left-pad <1\.3\.0/);
  assert.equal(runAudit(counts(0, 1)).code, 1);
});

test('moderate and low findings pass, with the counts printed', () => {
  const r = runAudit(counts(0, 0));
  assert.equal(r.code, 0);
  assert.match(r.out, /0 critical, 0 high, 1 moderate, 2 low/);
});

test('an advisory service that cannot be asked is NOT CHECKED, and a failure where WARDEN_AUDIT_REQUIRED=1', () => {
  const refused = JSON.stringify({ message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk' });
  const r = runAudit(refused);
  assert.equal(r.code, 0);
  assert.match(r.out, /NOT CHECKED.*405/);
  const strict = runAudit(refused, { WARDEN_AUDIT_REQUIRED: '1' });
  assert.equal(strict.code, 1);
  assert.match(strict.out, /could not be asked.*WARDEN_AUDIT_REQUIRED=1/);
});

test('output that is not npm audit JSON fails', () => {
  const r = runAudit('npm ERR! something else entirely');
  assert.equal(r.code, 1);
  assert.match(r.out, /printed no JSON/);
});
