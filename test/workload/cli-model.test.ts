// The newcomer's path through `warden model`, as real child processes: sign, verify, tamper, scan, and
// the registry verbs' refusals before the admin API (the API path runs in e2e-routing.test.ts).
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
const wardenEnv = (env: Record<string, string>, ...args: string[]) => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', RUNNER, 'model', ...args], { encoding: 'utf8', cwd: tmp, env: { ...process.env, CI: process.env.CI ?? '', ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const warden = (...args: string[]) => wardenEnv({}, ...args);

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

test('registry verbs need the admin API: offline only takes a deployment out of service; no credential is a usage error', () => {
  const dataDir = join(tmp, 'data');
  // The API path is exercised against a running gateway in e2e-routing.test.ts; here, what is refused before it.
  const env = { WARDEN_ADMIN_KEY: '', WARDEN_ADMIN_KEY_FILE: '' };
  const reg = wardenEnv(env, 'register', model, '--model', 'tiny-llm', '--version', '1', '--upstream', 'http://127.0.0.1:8000', '--tier', 'onprem', '--region', 'local', '--tenant', 'acme');
  assert.equal(reg.code, 2);
  assert.match(reg.err, /no admin credential: set WARDEN_ADMIN_KEY/);
  for (const args of [['register', model, '--model', 'm'], ['promote', 'dep_x'], ['rollback', 'tiny-llm'], ['verify', model, '--key', join(tmp, 'signing.pub'), '--deployment', 'dep_x']]) {
    const r = wardenEnv(env, ...args, '--offline', '--data-dir', dataDir);
    assert.equal(r.code, 2, `${args[0]} --offline must be refused`);
    assert.match(r.err, /needs the PDP and the ledger/);
  }
  assert.match(wardenEnv(env, 'quarantine', 'dep_x', '--offline', '--data-dir', dataDir).err, /quarantine needs --reason/);
  assert.match(wardenEnv(env, 'quarantine', 'dep_x', '--reason', 'x', '--offline').err, /--offline needs --data-dir/);
  const missing = wardenEnv(env, 'quarantine', 'dep_nope', '--reason', 'x', '--offline', '--data-dir', dataDir);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /dep_nope/);
  assert.match(wardenEnv(env, 'list', '--offline', '--data-dir', dataDir).out, /\(no deployments\)/);
});
