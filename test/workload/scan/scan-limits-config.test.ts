// workload.scan in warden.yaml: the model-scan limits are the operator's, validated by the closed schema at
// start, and they reach the scans (`warden model scan --config`, and the registry's scan on verify).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, test } from 'node:test';
import { ConfigError, loadConfig, parseConfig, type WardenConfig } from '../../../src/config/config.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';
import { signModel } from '../../../src/workload/signing/sign-model.js';
import { startTestWarden } from '../../helpers/warden.js';
import { runWarden } from '../../helpers/proc.js';
import { tar, tarMember } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-scan-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('workload.scan values are read; unset fields stay with the scanner defaults', () => {
  assert.deepEqual(loadConfig(undefined).workload.scan, {});
  const c = parseConfig('workload:\n  scan:\n    maxArchiveDepth: 2\n    maxExpansionRatio: 50\n    maxDecompressedBytes: 1073741824\n    maxArchiveMembers: 1000\n    maxPickleBytes: 1048576\n    extraAllowedGlobals: [torch._utils._rebuild_tensor_v2]\n', '/tmp/w.yaml');
  assert.deepEqual(c.workload.scan, { maxArchiveDepth: 2, maxExpansionRatio: 50, maxDecompressedBytes: 1073741824, maxArchiveMembers: 1000, maxPickleBytes: 1048576, extraAllowedGlobals: ['torch._utils._rebuild_tensor_v2'] });
});

test('a limit that would switch scanning off, a wrong type or a misspelt key is refused with its path', () => {
  const cases: [string, RegExp][] = [
    ['maxArchiveDepth: 0', /\/workload\/scan\/maxArchiveDepth: expected a value that must be >= 1/],
    ['maxExpansionRatio: 1', /\/workload\/scan\/maxExpansionRatio: expected a value that must be >= 2/],
    ['maxArchiveMembers: -5', /\/workload\/scan\/maxArchiveMembers: expected a value that must be >= 1/],
    ['maxDecompressedBytes: 10', /\/workload\/scan\/maxDecompressedBytes: expected a value that must be >= 1048576/],
    ['maxPickleBytes: "lots"', /\/workload\/scan\/maxPickleBytes: expected integer/],
    ['maxArchiveDepth: 2.5', /\/workload\/scan\/maxArchiveDepth: expected integer/],
    ['extraAllowedGlobals: [os]', /\/workload\/scan\/extraAllowedGlobals\/0: expected a value matching/],
    ['maxArchiveDeph: 3', /maxArchiveDeph.*maxArchiveDepth/],
  ];
  for (const [line, why] of cases) {
    assert.throws(() => parseConfig(`workload:\n  scan:\n    ${line}\n`, 'warden.yaml'), (e: unknown) => {
      assert.ok(e instanceof ConfigError, line);
      assert.match(e.message, why, `${line}: ${e.message}`);
      return true;
    });
  }
});

test('warden up refuses a bad scan limit at start in one line (exit 2)', async () => {
  const cfg = join(dir, 'bad.yaml');
  writeFileSync(cfg, 'workload:\n  scan:\n    maxExpansionRatio: 0\n');
  const r = await runWarden(['up', '--config', cfg]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.yaml:3:24: \/workload\/scan\/maxExpansionRatio: expected a value that must be >= 2/);
});

test('warden model scan --config applies the file\'s limits: an archive two levels deep passes by default and is refused at maxArchiveDepth 1', async () => {
  const bundle = join(dir, 'bundle.tgz');
  writeFileSync(bundle, gzipSync(tar(tarMember('layer.tar', tar(tarMember('config.json', Buffer.from('{"model_type":"llama"}')))))));
  const cfg = join(dir, 'shallow.yaml');
  writeFileSync(cfg, 'workload:\n  scan:\n    maxArchiveDepth: 1\n');
  const plain = await runWarden(['model', 'scan', bundle]);
  assert.equal(plain.code, 0, plain.stdout + plain.stderr);
  const limited = await runWarden(['model', 'scan', bundle, '--config', cfg]);
  assert.equal(limited.code, 1, limited.stdout + limited.stderr);
  assert.match(limited.stdout + limited.stderr, /bundle\.tgz!bundle\.tar: \[high\] archive\.too_deep/);
});

test('the registry scans with workload.scan on verify: the same signed model verifies by default and is refused at maxArchiveDepth 1', async () => {
  const model = join(dir, 'nested-model');
  mkdirSync(model);
  writeFileSync(join(model, 'config.json'), '{"model_type":"llama"}');
  writeFileSync(join(model, 'weights.tgz'), gzipSync(tar(tarMember('layer.tar', tar(tarMember('w.bin', Buffer.alloc(64, 7)))))));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pub = join(dir, 'model-signer.pub');
  writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  const { bundle } = await signModel(model, pemSigner(privateKey.export({ type: 'pkcs8', format: 'pem' })));
  const verifyWith = async (mutate: (c: WardenConfig) => void) => {
    const t = await startTestWarden((c) => {
      c.workload.trustedSigners = [pub];
      mutate(c);
    });
    try {
      const r = await t.call('admin', 'POST', '/admin/v1/models', { key: t.adminKey, body: { model: 'nested', version: '1', upstream: 'http://127.0.0.1:9/v1', tier: 'onprem', region: 'eu', tenant: 'acme', signatureBundle: bundle } });
      assert.equal(r.status, 201, r.text);
      return await t.call('admin', 'POST', `/admin/v1/models/${r.json.id}/verify`, { key: t.adminKey, body: { path: model } });
    } finally {
      await t.stop();
    }
  };
  const plain = await verifyWith(() => {});
  assert.equal(plain.status, 200, plain.text);
  const shallow = await verifyWith((c) => {
    c.workload.scan = { maxArchiveDepth: 1 };
  });
  assert.equal(shallow.status, 403, shallow.text);
  assert.equal(shallow.json.error.code, 'scan_failed');
  assert.match(shallow.json.error.message, /weights\.tgz!weights\.tar/);
});
