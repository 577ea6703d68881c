// A dataset's declared retention against its classification's retention (placement.classes.<class>.retention), on
// a real SQLite registry with really signed manifests: longer than the class allows, or `indefinite` where the
// class sets a limit, is refused (400 retention_exceeds_class, in the ledger); within it, or a class without a
// limit, is admitted. ISO months and years are counted at their longest (31 and 366 days).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { AuditEvent, Principal } from '../../../src/core/types.js';
import { DatasetRegistry, isoRetentionMaxMs } from '../../../src/data/datasets/registry.js';
import { signDataset } from '../../../src/data/datasets/sign-dataset.js';
import { SqliteDatasetsStore } from '../../../src/store/datasets-sqlite.js';
import { openSqlite } from '../../../src/store/sqlite.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-dataset-retention-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const DAY = 86_400_000;

test('ISO retention is judged at its longest', () => {
  assert.equal(isoRetentionMaxMs('P30D'), 30 * DAY);
  assert.equal(isoRetentionMaxMs('P1M'), 31 * DAY);
  assert.equal(isoRetentionMaxMs('P1Y2W'), 380 * DAY);
  assert.equal(isoRetentionMaxMs('nonsense'), Number.POSITIVE_INFINITY);
});

test('a manifest keeping data longer than its class allows is refused; within the limit it is admitted', async () => {
  const audits: AuditEvent[] = [];
  const classes: Record<string, string | undefined> = { confidential: '30d', restricted: '12h', internal: 'indefinite' };
  const reg = new DatasetRegistry({ store: new SqliteDatasetsStore(openSqlite(join(tmp, 'warden.db'))), audit: (e) => void audits.push(e), classRetention: (c) => classes[c] });
  const admin: Principal = { kind: 'user', id: 'alice', tenant: 'acme', groups: ['admins'], authn: { method: 'api_key', credentialId: 'key_alice' }, scope: { models: ['*'], actions: ['*'] }, admin: true };
  const pair = generateKeyPairSync('ed25519');
  await reg.registerSource(admin, { id: 'vendor', publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }) as string, owner: 'v' });
  const dir = join(tmp, 'ds');
  mkdirSync(dir);
  writeFileSync(join(dir, 'train.jsonl'), '{"text":"a","label":"x"}\n');
  const signer = pemSigner(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  let v = 0;
  const register = async (classification: string, retention: string) => {
    const signed = await signDataset(dir, { name: 'tickets', version: String(++v), source: 'vendor', owner: 'o', licence: 'CC0-1.0', classification, categories: [], retention }, signer);
    return reg.register(admin, signed.bundle);
  };
  const tooLong = { status: 400, code: 'retention_exceeds_class' };
  await assert.rejects(register('confidential', 'P31D'), tooLong);
  await assert.rejects(register('confidential', 'P1M'), tooLong, 'a month may be 31 days');
  await assert.rejects(register('confidential', 'indefinite'), tooLong);
  await assert.rejects(register('restricted', 'P1D'), tooLong, 'a day is longer than 12 hours');
  assert.ok(audits.some((e) => e.action === 'data.dataset.register' && e.decision === 'deny' && e.errorCode === 'retention_exceeds_class'), 'the refusal is in the ledger');
  assert.equal((await register('confidential', 'P30D')).retention, 'P30D');
  assert.equal((await register('confidential', 'P4W')).retention, 'P4W');
  assert.equal((await register('internal', 'indefinite')).retention, 'indefinite', 'a class kept indefinitely sets no limit');
  assert.equal((await register('public', 'P10Y')).retention, 'P10Y', 'a class without a retention sets no limit');
});
