// Warden-Receipt v2 (entry + inclusion proof + the batch's signed checkpoint, no per-response signature):
// what it proves offline and against the published log, the CLI on it, and every refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueReceipt, openProofReceipt, RECEIPT_V2_PREFIX } from '../../src/ledger/receipt-proof.js';
import { verifyReceipt } from '../../src/ledger/receipt.js';
import { receiptVerify } from '../../src/ledger/receipt-verify.js';
import { exportStatic } from '../../src/ledger/export-static.js';
import { main } from '../../src/cli/audit.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { sha256Digest } from '../../src/core/digest.js';
import type { Ledger, AppendResult } from '../../src/ledger/ledger.js';
import { inferenceEvent } from './events.js';
import { appendRange, openLedger, tmpDir } from './helpers.js';

const dir = tmpDir();
let ledger: Ledger;
let results: AppendResult[] = [];
let staticDir = '';

test.before(async () => {
  ledger = await openLedger(join(dir, 'data'));
  results = await appendRange(ledger, 0, 150);
  staticDir = join(dir, 'static');
  await exportStatic(ledger, staticDir);
});
test.after(async () => {
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

type Wire = { v: number; leafIndex: number; entry: string; inclusionProof: string[]; checkpoint: string };
const decode = (r: string) => JSON.parse(Buffer.from(r.slice(RECEIPT_V2_PREFIX.length), 'base64url').toString()) as Wire;
const encode = (w: unknown) => RECEIPT_V2_PREFIX + Buffer.from(JSON.stringify(w)).toString('base64url');

test('a v2 receipt proves the entry is in the signed checkpoint and carries the same claims a v1 receipt signed', async () => {
  const i = 101; // an allowed inference request (every 5th test event is a denial)
  const e = inferenceEvent(i);
  const receipt = issueReceipt(results[i]!);
  assert.ok(receipt.startsWith(RECEIPT_V2_PREFIX));
  for (const key of [ledger.key.vkey, ledger.key.publicKeyPem]) {
    const v = await verifyReceipt(receipt, key);
    assert.equal(v.payload.v, 2);
    assert.equal(v.payload.iss, 'warden.test/audit');
    assert.equal(v.payload.leafIndex, i);
    assert.equal(v.payload.leafHash, results[i]!.leafHash);
    assert.equal(v.payload.decisionId, e.requestId);
    assert.equal(v.payload.requestDigest, sha256Digest(`request ${i}`));
    assert.equal(v.payload.responseDigest, sha256Digest(`response ${i}`));
    assert.equal(v.payload.model, 'llama-3-8b');
    assert.equal(v.payload.deployment, 'dep-a');
    assert.equal(v.payload.artifactDigest, e.deployment!.artifactDigest);
    assert.equal(v.payload.policyVersion, e.policyVersion);
    assert.equal(v.payload.iat, Math.floor(Date.parse(e.time) / 1000));
    assert.equal(v.checkpoint.size, results[i]!.checkpoint.size);
    assert.deepEqual(v.entry, JSON.parse(canonicalJson(e)));
  }
  // Against the published log, with the bodies, and after the log grew (consistency from the receipt's checkpoint).
  const request = Buffer.from(`request ${i}`);
  const response = Buffer.from(`response ${i}`);
  const r = await receiptVerify({ receipt, log: staticDir, key: ledger.key.vkey, request, response });
  assert.equal(r.entry?.requestId, e.requestId);
  await appendRange(ledger, 150, 170);
  const grown = join(dir, 'grown');
  await exportStatic(ledger, grown);
  assert.equal((await receiptVerify({ receipt, log: grown, key: ledger.key.vkey })).logSize, 170);

  // `warden receipt verify` on the receipt file the gateway would hand out.
  const files = { receipt: join(dir, 'r2.txt'), req: join(dir, 'req2.bin'), res: join(dir, 'res2.bin'), bad: join(dir, 'bad2.bin') };
  writeFileSync(files.receipt, receipt + '\n');
  writeFileSync(files.req, request);
  writeFileSync(files.res, response);
  writeFileSync(files.bad, 'tampered response');
  let out = '';
  let err = '';
  const io = { out: (l: string) => (out += l), err: (l: string) => (err += l) };
  assert.equal(await main(['receipt', 'verify', files.receipt, '--log', grown, '--key', ledger.key.vkey, '--request', files.req, '--response', files.res], io), 0, err);
  assert.match(out, new RegExp(`entry ${i} `));
  assert.equal(await main(['receipt', 'verify', files.receipt, '--log', grown, '--key', ledger.key.vkey, '--response', files.bad], io), 1);
  assert.match(err, /ReceiptInvalid \(response_digest_mismatch\)/);
});

test('the in-memory inclusion proof equals the stored tree proof for every leaf, across batch shapes', async (t) => {
  const d = tmpDir();
  t.after(() => rmSync(d, { recursive: true, force: true }));
  for (const maxBatch of [1, 3, 7, 64]) {
    const l = await openLedger(join(d, String(maxBatch)), maxBatch);
    const rs = await appendRange(l, 0, 133);
    for (const r of rs) {
      const stored = await l.inclusionProof(r.index, r.checkpoint.size);
      assert.deepEqual(r.inclusionProof().map((h) => h.toString('base64')), stored.hashes, `maxBatch ${maxBatch} leaf ${r.index}`);
    }
    await l.close();
  }
});

test('altered, misplaced, foreign or non-response v2 receipts are refused with precise codes', async () => {
  const i = 42;
  const receipt = issueReceipt(results[i]!);
  const w = decode(receipt);
  const key = ledger.key.vkey;
  const refuses = (r: string, code: string) => assert.throws(() => openProofReceipt(r, key), { name: 'ReceiptInvalid', code });

  // The entry edited to claim another response: its leaf hash no longer leads to the signed root.
  refuses(encode({ ...w, entry: w.entry.replace(sha256Digest(`response ${i}`), sha256Digest('something else')) }), 'not_in_checkpoint');
  // The same entry claimed at another position, a changed or missing proof hash.
  refuses(encode({ ...w, leafIndex: i + 1 }), 'not_in_checkpoint');
  refuses(encode({ ...w, inclusionProof: [results[7]!.leafHash, ...w.inclusionProof.slice(1)] }), 'not_in_checkpoint');
  refuses(encode({ ...w, inclusionProof: w.inclusionProof.slice(0, -1) }), 'not_in_checkpoint');
  refuses(encode({ ...w, leafIndex: 100000 }), 'leaf_not_in_checkpoint');
  // Shapes.
  refuses(RECEIPT_V2_PREFIX + '%%%', 'malformed_receipt');
  refuses(RECEIPT_V2_PREFIX + Buffer.from('[1]').toString('base64url'), 'malformed_receipt');
  refuses(encode({ ...w, v: 3 }), 'bad_version');
  refuses(encode({ ...w, leafIndex: -1 }), 'bad_claim');
  refuses(encode({ ...w, inclusionProof: Array(64).fill(w.inclusionProof[0]) }), 'bad_claim');
  refuses(encode({ ...w, inclusionProof: ['not a hash'] }), 'bad_claim');
  refuses(encode({ ...w, entry: 7 }), 'bad_claim');
  refuses(encode({ ...w, checkpoint: 'not a note' }), 'malformed_receipt');
  // A receipt for an entry that is in the log but is no released response (a policy denial).
  assert.equal(inferenceEvent(45).decision, 'deny');
  refuses(issueReceipt(results[45]!), 'not_a_response');
  // Another log's key: the checkpoint signature does not verify.
  const other = await openLedger(join(dir, 'other'));
  assert.throws(() => openProofReceipt(receipt, other.key.vkey), { name: 'NoteSignatureInvalid' });
  assert.throws(() => openProofReceipt(receipt, other.key.publicKeyPem), { name: 'NoteSignatureInvalid' });
  await other.close();
});

test('an entry that is in the log but not canonical JSON is refused: it could be read two ways', async (t) => {
  const d = tmpDir();
  t.after(() => rmSync(d, { recursive: true, force: true }));
  const l = await openLedger(join(d, 'data'));
  const canonical = canonicalJson(inferenceEvent(1));
  // A duplicated key: JSON.parse keeps the last value, another reader may keep the first.
  const twoWays = canonical.replace('{', `{"responseDigest":"${sha256Digest('hidden')}",`);
  const r = await l.appendEntry(Buffer.from(twoWays));
  assert.throws(() => openProofReceipt(issueReceipt(r), l.key.vkey), { name: 'ReceiptInvalid', code: 'bad_entry' });
  const ok = await l.appendEntry(Buffer.from(canonical));
  assert.equal(openProofReceipt(issueReceipt(ok), l.key.vkey).payload.leafIndex, 1);
  await l.close();
});
