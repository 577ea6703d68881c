// A data source whose key is held in PKCS#11 (a real SoftHSM2 token the test creates in a temp dir): the real CLI
// signs a dataset manifest inside the token (`warden data sign --key pkcs11:…`), the gateway admits it under the
// source's registered public key and verifies the files; a wrong PIN, an unknown key or an unknown token is refused
// before anything is written. Without SoftHSM2 the tests skip with a printed reason; in CI (CI=true) its absence
// is a failure.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generatePkcs11EcKey } from '../../../src/workload/signing/pkcs11.js';
import { runWarden } from '../../helpers/proc.js';
import { findSoftHsm, initToken } from '../../helpers/softhsm.js';
import { startTestWarden } from '../../helpers/warden.js';

const { modulePath, util, missing } = findSoftHsm('PKCS#11 data source tests');

const tmp = mkdtempSync(join(tmpdir(), 'warden-data-hsm-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const PIN = '135792';
// Without pin-value: the CLI reads the PIN from WARDEN_PKCS11_PIN, as an operator would give it.
let uri = '';
if (!missing) {
  // Sets SOFTHSM2_CONF in this process's environment, which the CLI children inherit.
  initToken(util!, tmp, 'warden-data', PIN);
  uri = `pkcs11:token=warden-data;object=source-key?module-path=${encodeURIComponent(modulePath!)}`;
}

function writeDataset(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'train.jsonl'), Array.from({ length: 8 }, (_, i) => JSON.stringify({ text: `record ${i}`, label: i % 2 ? 'a' : 'b' })).join('\n') + '\n');
  writeFileSync(join(dir, 'notes.txt'), 'plain text, hashed whole');
  return dir;
}

const signArgs = (dir: string, key: string) => ['data', 'sign', dir, '--key', key, '--name', 'hsm-tickets', '--version', '1', '--source', 'hsm-vendor', '--owner', 'o', '--licence', 'CC0-1.0', '--classification', 'internal', '--retention', 'P30D'];

test('a manifest signed inside the token by the CLI is admitted by the gateway and verifies', { skip: missing }, async () => {
  const pub = generatePkcs11EcKey(`${uri}&pin-value=${PIN}`);
  const pubPath = join(tmp, 'source.pub.pem');
  writeFileSync(pubPath, pub.export({ type: 'spki', format: 'pem' }) as string);
  const dir = writeDataset('signed');

  const signed = await runWarden(signArgs(dir, uri), { WARDEN_PKCS11_PIN: PIN });
  assert.equal(signed.code, 0, signed.stderr);
  assert.match(signed.stdout, /signed 2 file\(s\), 8 record\(s\), \d+ bytes with pkcs11:/);
  const digest = /dataset digest (sha256:[0-9a-f]{64})/.exec(signed.stdout)![1]!;
  assert.ok(existsSync(join(dir, 'dataset.sig')) && existsSync(join(dir, 'dataset.records')));

  // Offline: verifies under the token's public key (ECDSA P-256).
  const local = await runWarden(['data', 'verify', dir, '--key', pubPath]);
  assert.equal(local.code, 0, local.stderr);
  assert.match(local.stdout, new RegExp(`dataset digest ${digest}`));

  // The gateway: the source registered with the token's public key admits it and verifies the files.
  const t = await startTestWarden();
  try {
    const env = { WARDEN_ADMIN_URL: t.w.adminUrl, WARDEN_CA: t.w.caPemPath, WARDEN_ADMIN_KEY: t.adminKey, WARDEN_MFA_TOKEN: '' };
    const source = await runWarden(['data', 'source', 'add', 'hsm-vendor', '--key', pubPath, '--owner', 'vendor@acme'], env);
    assert.equal(source.code, 0, source.stderr);
    const reg = await runWarden(['data', 'register', dir, '--json'], env);
    assert.equal(reg.code, 0, reg.stderr);
    const d = JSON.parse(reg.stdout) as { id: string; digest: string; sourceId: string; signerIdentity: string };
    assert.equal(d.digest, digest);
    assert.equal(d.sourceId, 'hsm-vendor');
    const verified = await runWarden(['data', 'verify', dir, '--dataset', d.id], env);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, new RegExp(`${d.id}  hsm-tickets@1  verified`));
    const entry = t.audits().filter((a) => a.action === 'data.dataset.verify').at(-1)!;
    assert.equal(entry.decision, 'allow');

    // A record changed after signing is named, by the CLI and by the gateway (the token's signature still holds).
    writeFileSync(join(dir, 'train.jsonl'), readFileSync(join(dir, 'train.jsonl'), 'utf8').replace('record 5', 'record five'));
    const changed = await runWarden(['data', 'verify', dir, '--key', pubPath]);
    assert.notEqual(changed.code, 0);
    assert.match(changed.stderr, /train\.jsonl record 5 changed/);
  } finally {
    await t.stop();
  }
});

test('a wrong PIN, an unknown key and an unknown token are refused; nothing is written', { skip: missing }, async () => {
  const dir = writeDataset('refused');
  const wrongPin = await runWarden(signArgs(dir, uri), { WARDEN_PKCS11_PIN: '000000' });
  assert.notEqual(wrongPin.code, 0);
  assert.match(wrongPin.stderr, /login/i);
  const noKey = await runWarden(signArgs(dir, uri.replace('object=source-key', 'object=absent')), { WARDEN_PKCS11_PIN: PIN });
  assert.notEqual(noKey.code, 0);
  assert.match(noKey.stderr, /no private key absent/);
  const noToken = await runWarden(signArgs(dir, uri.replace('token=warden-data', 'token=nope')), { WARDEN_PKCS11_PIN: PIN });
  assert.notEqual(noToken.code, 0);
  assert.match(noToken.stderr, /no token labelled/);
  const noPin = await runWarden(signArgs(dir, uri), { WARDEN_PKCS11_PIN: '' });
  assert.notEqual(noPin.code, 0);
  assert.ok(!existsSync(join(dir, 'dataset.sig')) && !existsSync(join(dir, 'dataset.records')), 'no signature or sidecar was written');
});
