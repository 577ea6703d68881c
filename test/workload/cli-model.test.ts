// The newcomer's path through `warden model`, as real child processes: sign, verify, tamper,
// scan, register, verify into the registry, promote, quarantine, and the audit trail.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

// The same entry bin/warden.js uses (run(argv) of the compiled main), resolved next to this test's build.
const MAIN = new URL('../../src/cli/main.js', import.meta.url).href;
const RUNNER = `const { run } = await import(${JSON.stringify(MAIN)}); process.exitCode = await run(process.argv.slice(1));`;
const tmp = mkdtempSync(join(tmpdir(), 'warden-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const warden = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', RUNNER, 'model', ...args], { encoding: 'utf8', cwd: tmp, env: { ...process.env, CI: process.env.CI ?? '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
writeFileSync(join(tmp, 'signing.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
writeFileSync(join(tmp, 'signing.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
const model = join(tmp, 'tiny-llm');
mkdirSync(model);
writeFileSync(join(model, 'config.json'), '{"model_type":"llama"}');
const len = Buffer.alloc(8);
const header = Buffer.from('{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}');
len.writeBigUInt64LE(BigInt(header.length));
writeFileSync(join(model, 'model.safetensors'), Buffer.concat([len, header, Buffer.alloc(16)]));

test('sign, verify, refuse a one-byte change, and verify again after restoring it', () => {
  const s = warden('sign', model, '--key', join(tmp, 'signing.pem'));
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /model digest sha256:[0-9a-f]{64}/);
  assert.equal(warden('verify', model, '--key', join(tmp, 'signing.pub')).code, 0);
  const f = join(model, 'model.safetensors');
  const orig = readFileSync(f);
  const bad = Buffer.from(orig);
  bad[bad.length - 1] = 1;
  writeFileSync(f, bad);
  const v = warden('verify', model, '--key', join(tmp, 'signing.pub'));
  assert.equal(v.code, 1);
  assert.match(v.err, /changed: model\.safetensors/);
  assert.match(v.err, /model_manifest_mismatch/);
  writeFileSync(f, orig);
  assert.equal(warden('verify', model, '--key', join(tmp, 'signing.pub')).code, 0);
});

test('scan: clean passes; a pickle importing os.system exits non-zero naming the file', () => {
  assert.equal(warden('scan', model, '--ignore-paths', 'model.sig').code, 0);
  const evil = join(tmp, 'evil-model');
  mkdirSync(evil);
  writeFileSync(join(evil, 'pytorch_model.bin'), Buffer.from("\x80\x02cos\nsystem\n(S'id'\ntR.", 'latin1'));
  const r = warden('scan', evil);
  assert.equal(r.code, 1);
  assert.match(r.err, /pytorch_model\.bin: \[critical\] pickle\.unsafe_global: imports os\.system/);
  assert.equal(warden('nonsense').code, 2);
});

test('register, verify into the registry, promote, quarantine; all audited', () => {
  const dataDir = join(tmp, 'data');
  const reg = warden('register', model, '--model', 'tiny-llm', '--version', '1', '--upstream', 'http://127.0.0.1:8000', '--tier', 'onprem', '--region', 'local', '--tenant', 'acme', '--data-dir', dataDir);
  assert.equal(reg.code, 0, reg.err);
  const id = /^(dep_\w+)/.exec(reg.out)![1]!;
  assert.equal(warden('promote', id, '--data-dir', dataDir).code, 1, 'a registered artifact cannot be promoted');
  const v = warden('verify', model, '--key', join(tmp, 'signing.pub'), '--deployment', id, '--data-dir', dataDir);
  assert.equal(v.code, 0, v.err);
  assert.match(v.out, /verified/);
  const p = warden('promote', id, '--data-dir', dataDir);
  assert.equal(p.code, 0, p.err);
  assert.match(warden('list', '--data-dir', dataDir).out, /tiny-llm@1\s+promoted/);
  assert.equal(warden('quarantine', id, '--reason', 'test', '--data-dir', dataDir).code, 0);
  assert.match(warden('show', id, '--data-dir', dataDir).out, /state\s+quarantined/);
  const r = warden('rollback', 'tiny-llm', '--data-dir', dataDir);
  assert.equal(r.code, 1);
  assert.match(r.err, /no_known_good_version/);
  const audit = readFileSync(join(dataDir, 'registry-audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; decision: string });
  assert.deepEqual(audit.map((e) => `${e.action}:${e.decision}`), ['model.register:allow', 'model.promote:deny', 'model.verify:allow', 'model.promote:allow', 'model.quarantine:allow', 'model.rollback:deny']);
});
