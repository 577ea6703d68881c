import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/policy.js';
import { STARTER_DIR } from './fixtures.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

function tempCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-policy-'));
  cpSync(STARTER_DIR, dir, { recursive: true });
  return dir;
}

test('validate: the starter set is valid and its version is printed', async () => {
  const r = await run(['validate', STARTER_DIR]);
  assert.equal(r.code, 0);
  assert.match(r.out, /ok: 38 policies valid, version sha256:[0-9a-f]{64}/);
});

test('validate: an invalid policy exits 1 with Cedar\'s error', async () => {
  const dir = tempCopy();
  try {
    writeFileSync(join(dir, 'broken.cedar'), '@id("broken") permit(principal, action, resource) when { resource.colour == "red" };');
    const r = await run(['validate', dir]);
    assert.equal(r.code, 1);
    assert.match(r.err, /policy_invalid: .*broken: .*colour/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('test: every starter test case passes', async () => {
  const r = await run(['test', STARTER_DIR]);
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /^(\d+) passed, 0 failed/m);
  assert.ok(Number(/^(\d+) passed/m.exec(r.out)![1]) >= 30);
});

test('test: a failing case exits non-zero and says what differed', async () => {
  const dir = tempCopy();
  try {
    const f = join(dir, 'tests', 'inference.test.yaml');
    // weaken the on-prem rule: the "never reaches a public cloud model" case must now fail
    const data = join(dir, 'data.cedar');
    writeFileSync(data, readFileSync(data, 'utf8').replace('resource.tier == "onprem"', 'resource.tier != ""'));
    const r = await run(['test', dir]);
    assert.equal(r.code, 1);
    assert.match(r.out, /FAIL {2}tests\/inference\.test\.yaml: restricted data never reaches a public cloud model/);
    assert.match(r.out, /expected deny, got allow/);
    assert.ok(readFileSync(f, 'utf8').length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('test: a malformed test file is refused', async () => {
  const dir = tempCopy();
  try {
    writeFileSync(join(dir, 'tests', 'bad.test.yaml'), 'cases:\n  - name: x\n    action: chat\n');
    const r = await run(['test', dir]);
    assert.equal(r.code, 1);
    assert.match(r.err, /policy_request_file_invalid: .*bad\.test\.yaml: .*must have required property 'expect'/);
    writeFileSync(join(dir, 'tests', 'bad.test.yaml'), 'cases:\n  - name: x\n    action: chat\n    expect: { decision: deny }\n');
    const r2 = await run(['test', dir]);
    assert.equal(r2.code, 1);
    assert.match(r2.out, /FAIL {2}tests\/bad\.test\.yaml: x\n +cannot run: .*no principal/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('diff: added, removed and changed policies', async () => {
  const dir = tempCopy();
  try {
    rmSync(join(dir, 'tools.cedar'));
    const admin = join(dir, 'admin.cedar');
    writeFileSync(admin, readFileSync(admin, 'utf8').replace('< 900', '< 600'));
    writeFileSync(join(dir, 'risk.cedar'), '@id("high-risk") forbid(principal, action, resource) when { context.riskScorePermille > 800 };');
    const r = await run(['diff', STARTER_DIR, dir]);
    assert.equal(r.code, 0);
    assert.match(r.out, /^\+ high-risk \(forbid, risk\.cedar\)/m);
    assert.match(r.out, /^- tools-granted-low-risk/m);
    assert.match(r.out, /^~ admin-needs-recent-mfa/m);
    assert.match(r.out, /1 added, 2 removed, 1 changed, 35 unchanged/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('explain: lists the policies in scope and which matched', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-explain-'));
  try {
    const file = join(dir, 'req.yaml');
    writeFileSync(
      file,
      [
        'principal: { kind: user, id: carol, tenant: acme, groups: [consumers, llama-users] }',
        'action: chat',
        'resource: { type: Model, id: gpt-cloud }',
        'entities: [{ type: Model, id: gpt-cloud, attrs: { tier: public_cloud, grantees: [llama-users] } }]',
        'findings: { classification: restricted }',
      ].join('\n'),
    );
    const r = await run(['explain', '--request', file, '--policies', STARTER_DIR]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^decision: DENY/);
    assert.match(r.out, /MATCHED +forbid restricted-data-onprem-only/);
    assert.match(r.out, /MATCHED +permit consumers-invoke-granted-models/);
    assert.match(r.out, /no match forbid deny-likely-injection/);
    assert.match(r.out, /6 of 38 policies in scope/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage errors exit 2', async () => {
  assert.equal((await run([])).code, 2);
  assert.equal((await run(['validate'])).code, 2);
  assert.equal((await run(['explain'])).code, 2);
  assert.equal((await run(['validate', '/nonexistent-dir'])).code, 2);
});
