// Supply-chain requirements from warden.yaml reach the registry: an artifact without the required SBOM
// or provenance cannot be verified (and so never promoted or routed); each refusal is in the ledger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testdata } from '../helpers/testdata.js';
import { startTestWarden } from '../helpers/warden.js';
import type { WardenConfig } from '../../src/config/config.js';

const VECTOR = testdata('crypto_vectors/model_signing/v1.0.0-certificate');
const SIGNER_PUB = testdata('crypto_vectors/model_signing/keys/certificate/signing-key-pub.pem');

test('workload.requireSbom and workload.provenance.require refuse verification of a bare artifact', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'warden-supply-'));
  const dir = join(tmp, 'model');
  cpSync(VECTOR, dir, { recursive: true });
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
  const start = (mutate: (c: WardenConfig) => void) =>
    startTestWarden((c) => {
      c.workload.trustedSigners = [SIGNER_PUB];
      mutate(c);
    });
  const bundle = JSON.parse(readFileSync(join(VECTOR, 'model.sig'), 'utf8')) as unknown;
  const registerAndVerify = async (t: Awaited<ReturnType<typeof startTestWarden>>, model: string) => {
    const r = await t.call('admin', 'POST', '/admin/v1/models', { key: t.adminKey, body: { model, version: '1', upstream: 'http://127.0.0.1:9/v1', tier: 'onprem', region: 'eu', tenant: 'acme', signatureBundle: bundle } });
    assert.equal(r.status, 201, r.text);
    return t.call('admin', 'POST', `/admin/v1/models/${r.json.id}/verify`, { key: t.adminKey, body: { path: dir } });
  };
  let t = await start((c) => {
    c.workload.requireSbom = true;
  });
  try {
    const v = await registerAndVerify(t, 'no-sbom');
    assert.equal(v.status, 403, v.text);
    assert.equal(v.json.error.code, 'sbom_missing');
    assert.ok(t.audits().some((e) => e.action === 'model.verify' && e.errorCode === 'sbom_missing'));
  } finally {
    await t.stop();
  }
  t = await start((c) => {
    c.workload.provenance = { require: true, allowedBuilderIds: ['https://builder.example/v1'], builderKeys: [], allowUnsigned: false, requireDatasets: false };
  });
  try {
    const v = await registerAndVerify(t, 'no-provenance');
    assert.equal(v.status, 403, v.text);
    assert.equal(v.json.error.code, 'provenance_missing');
  } finally {
    await t.stop();
  }
  // Without those requirements the same artifact verifies.
  t = await start(() => {});
  try {
    const v = await registerAndVerify(t, 'plain');
    assert.equal(v.status, 200, v.text);
  } finally {
    await t.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
});
