// Declared versus found: the inspection plane's detectors over a dataset's records. A dataset declared
// public that holds card numbers is flagged (as a function and through `warden data scan`, reading the
// declaration from the signed statement); clean public text and correctly declared PII pass.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { signDataset, writeDatasetSignature } from '../../../src/data/datasets/sign-dataset.js';
import { scanClassification } from '../../../src/data/screen/classification-scan.js';
import { readScreenRecords } from '../../../src/data/screen/read.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';
import { runWarden } from '../../helpers/proc.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-classify-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const rows = (extra: string[] = []) =>
  [...Array.from({ length: 40 }, (_, i) => ({ text: `How do I reset my router, attempt ${i}?`, label: 'support' })), ...extra.map((text) => ({ text, label: 'billing' }))]
    .map((r) => JSON.stringify(r)).join('\n') + '\n';

test('a public dataset holding card numbers is flagged as confidential financial data; clean text passes', async () => {
  const dir = join(tmp, 'cards');
  mkdirSync(dir);
  // 4111 1111 1111 1111 and 5500 0000 0000 0004 are the networks' published test numbers (Luhn-valid).
  writeFileSync(join(dir, 'train.jsonl'), rows(['Please charge my card 4111 1111 1111 1111 again', 'card 5500 0000 0000 0004 was declined']));
  const recs = await readScreenRecords(dir);
  const r = scanClassification(recs, { classification: 'public', categories: [] });
  assert.equal(r.flagged, true);
  assert.equal(r.implied, 'confidential');
  assert.deepEqual(r.found, { credit_card: 2 });
  assert.deepEqual(r.undeclaredCategories, ['financial']);
  assert.deepEqual(r.examples.map((e) => e.index), [40, 41]);
  assert.equal(scanClassification(recs, { classification: 'confidential', categories: ['financial'] }).flagged, false);
  assert.equal(scanClassification(recs, { classification: 'secret-ish', categories: ['financial'] }).flagged, true, 'an unknown level fails closed');
  const clean = join(tmp, 'clean.jsonl');
  writeFileSync(clean, rows());
  const c = scanClassification(await readScreenRecords(clean), { classification: 'public', categories: [] });
  assert.equal(c.flagged, false);
  assert.equal(c.implied, 'public');
});

test('warden data scan reads the declaration from the signed statement and exits 1 when the data is more sensitive', async () => {
  const dir = join(tmp, 'cli');
  mkdirSync(dir);
  writeFileSync(join(dir, 'train.jsonl'), rows(['my card is 4111-1111-1111-1111, email me at jo@example.com']));
  const signer = pemSigner(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const s = await signDataset(dir, { name: 'tickets', version: '1', source: 'vendor', owner: 'o', licence: 'CC0-1.0', classification: 'public', categories: [], retention: 'P30D' }, signer);
  await writeDatasetSignature(s, join(dir, 'dataset.sig'), join(dir, 'dataset.records'));
  const r = await runWarden(['data', 'scan', dir]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /FLAGGED declared public but the records hold credit_card, email \(confidential\)/);
  assert.match(r.stdout, /FLAGGED undeclared data categories: financial, pii/);
  const ok = await runWarden(['data', 'scan', dir, '--classification', 'confidential', '--categories', 'financial,pii', '--sample', '10']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.equal((await runWarden(['data', 'scan', dir, '--sample', '-3'])).code, 2);
});
