// The audit API on a real node:http server, and receipts verified against it and against a static export.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createAuditHandler } from '../../src/ledger/http.js';
import { signReceipt, verifyReceipt, type ReceiptSubject } from '../../src/ledger/receipt.js';
import { receiptVerify } from '../../src/ledger/receipt-verify.js';
import { exportStatic } from '../../src/ledger/export-static.js';
import { auditVerify } from '../../src/ledger/audit-verify.js';
import { verifyConsistency, verifyInclusion } from '../../src/ledger/merkle-verify.js';
import { openCheckpoint } from '../../src/ledger/checkpoint.js';
import { main } from '../../src/cli/audit.js';
import type { Ledger, AppendResult } from '../../src/ledger/ledger.js';
import { inferenceEvent } from './events.js';
import { appendRange, openLedger, tmpDir } from './helpers.js';

const dir = tmpDir();
let ledger: Ledger;
let server: Server;
let base = '';
let results: AppendResult[] = [];

function subjectFor(i: number): ReceiptSubject {
  const e = inferenceEvent(i);
  return { requestDigest: e.requestDigest, responseDigest: e.responseDigest, model: 'llama-3-8b', deployment: e.deployment!.id, artifactDigest: e.deployment!.artifactDigest, policyVersion: e.policyVersion, decisionId: e.requestId };
}

test.before(async () => {
  ledger = await openLedger(join(dir, 'data'));
  results = await appendRange(ledger, 0, 300);
  const handler = createAuditHandler(ledger);
  server = createServer((req, res) => {
    if (!handler(req, res)) {
      res.writeHead(418);
      res.end('not audit');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
test.after(async () => {
  await new Promise((r) => server.close(r));
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

const b = (s: string) => Buffer.from(s, 'base64');

test('GET checkpoint, keys, proofs and tiles; proofs verify against the signed checkpoint', async () => {
  const cpRes = await fetch(`${base}/audit/v1/checkpoint`);
  assert.equal(cpRes.status, 200);
  assert.equal(cpRes.headers.get('content-type'), 'text/plain; charset=utf-8');
  const keys = (await (await fetch(`${base}/audit/v1/keys`)).json()) as { keys: { kid: string; alg: string }[]; vkey: string };
  assert.equal(keys.keys[0]!.alg, 'EdDSA');
  const cp = openCheckpoint(await cpRes.text(), (await import('../../src/ledger/note.js')).parseVerifierKey(keys.vkey));
  assert.equal(cp.size, 300);

  const inc = (await (await fetch(`${base}/audit/v1/proof/inclusion?index=123&size=300`)).json()) as { leafHash: string; hashes: string[]; rootHash: string };
  assert.equal(inc.rootHash, cp.rootHash.toString('base64'));
  verifyInclusion(123, 300, b(inc.leafHash), inc.hashes.map(b), cp.rootHash);
  const con = (await (await fetch(`${base}/audit/v1/proof/consistency?old=77&size=300`)).json()) as { oldRootHash: string; hashes: string[] };
  verifyConsistency(77, 300, b(con.oldRootHash), cp.rootHash, con.hashes.map(b));

  const tile = await fetch(`${base}/audit/v1/tile/0/001.p/44`);
  assert.equal(tile.status, 200);
  assert.equal(tile.headers.get('content-type'), 'application/octet-stream');
  assert.equal((await tile.arrayBuffer()).byteLength, 44 * 32);
  const head = await fetch(`${base}/audit/v1/tile/entries/000`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal((await fetch(`${base}/other`)).status, 418, 'non-audit paths are left to the caller');
});

test('bad parameters answer 400 with the Warden error body; unknown paths 404; writes 405', async () => {
  const cases: [string, number, string][] = [
    ['/audit/v1/proof/inclusion?index=1', 400, 'missing_parameter'],
    ['/audit/v1/proof/inclusion?index=-1&size=3', 400, 'invalid_parameter'],
    ['/audit/v1/proof/inclusion?index=01&size=3', 400, 'invalid_parameter'],
    ['/audit/v1/proof/inclusion?index=3&size=3', 400, 'invalid_leaf_index'],
    ['/audit/v1/proof/inclusion?index=0&size=301', 400, 'tree_size_beyond_checkpoint'],
    ['/audit/v1/proof/consistency?old=10&size=5', 400, 'invalid_tree_size'],
    ['/audit/v1/proof/consistency?old=1e3&size=5', 400, 'invalid_parameter'],
    ['/audit/v1/tile/0/1', 400, 'invalid_tile_path'],
    ['/audit/v1/tile/0/001.p/45', 404, 'tile_not_found'],
    ['/audit/v1/tile/1/000', 404, 'tile_not_found'],
    ['/audit/v1/nothing', 404, 'not_found'],
  ];
  for (const [path, status, code] of cases) {
    const res = await fetch(base + path, { headers: { 'x-request-id': 'req_test' } });
    assert.equal(res.status, status, path);
    const body = (await res.json()) as { error: { type: string; code: string; message: string; request_id: string } };
    assert.equal(body.error.code, code, path);
    assert.match(body.error.request_id, /^req_[0-9a-f]+$/, 'Warden mints the id');
    assert.notEqual(body.error.request_id, 'req_test', 'a client-sent X-Request-Id is never taken as ours');
    assert.ok(body.error.type && body.error.message);
  }
  const post = await fetch(`${base}/audit/v1/checkpoint`, { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
});

test('the served log verifies over HTTP with auditVerify', async () => {
  const r = await auditVerify({ log: `${base}/audit/v1`, key: ledger.key.vkey });
  assert.equal(r.size, 300);
});

test('a receipt verifies offline: signature, bodies, inclusion and the entry it points at (HTTP and static)', async () => {
  const i = 217;
  const receipt = signReceipt(ledger.key, subjectFor(i), results[i]!, Date.now());
  const v = await verifyReceipt(receipt, ledger.key.publicKeyPem);
  assert.equal(v.payload.leafIndex, i);
  const request = Buffer.from(`request ${i}`);
  const response = Buffer.from(`response ${i}`);
  const overHttp = await receiptVerify({ receipt, log: `${base}/audit/v1`, key: ledger.key.vkey, request, response });
  assert.equal(overHttp.entry?.requestId, inferenceEvent(i).requestId);

  // Later growth of the log keeps old receipts verifiable (consistency from the receipt's checkpoint).
  await appendRange(ledger, 300, 320);
  const staticDir = join(dir, 'static');
  await exportStatic(ledger, staticDir);
  const r = await receiptVerify({ receipt, log: staticDir, key: ledger.key.vkey });
  assert.equal(r.logSize, 320);

  const files = { receipt: join(dir, 'r.jws'), req: join(dir, 'req.bin'), res: join(dir, 'res.bin'), bad: join(dir, 'bad.bin') };
  writeFileSync(files.receipt, receipt);
  writeFileSync(files.req, request);
  writeFileSync(files.res, response);
  writeFileSync(files.bad, 'tampered response');
  let out = '';
  let err = '';
  const io = { out: (l: string) => (out += l), err: (l: string) => (err += l) };
  assert.equal(await main(['receipt', 'verify', files.receipt, '--log', staticDir, '--key', ledger.key.vkey, '--request', files.req, '--response', files.res], io), 0, err);
  assert.match(out, /entry 217/);
  assert.equal(await main(['verify', files.receipt, '--log', staticDir, '--key', ledger.key.vkey, '--response', files.bad], io), 1);
  assert.match(err, /ReceiptInvalid \(response_digest_mismatch\)/);
});

test('receipts are byte-identical to jose CompactSign output (deterministic EdDSA)', async () => {
  const { CompactSign } = await import('jose');
  const receipt = signReceipt(ledger.key, subjectFor(3), results[3]!, 1_700_000_000_000);
  const [h, p] = receipt.split('.') as [string, string];
  const viaJose = await new CompactSign(Buffer.from(p, 'base64url'))
    .setProtectedHeader(JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string })
    .sign(createPrivateKey(readFileSync(join(dir, 'data', 'ledger-key.pem'))));
  assert.equal(receipt, viaJose);
  assert.deepEqual(JSON.parse(Buffer.from(h, 'base64url').toString()), { alg: 'EdDSA', kid: ledger.key.kid, typ: 'warden-receipt+jws' });
});

test('forged, altered or misattributed receipts are refused with precise codes', async () => {
  const i = 5;
  const receipt = signReceipt(ledger.key, subjectFor(i), results[i]!, Date.now());
  const [h, p, s] = receipt.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const withPayload = (o: Record<string, unknown>) => `${h}.${Buffer.from(JSON.stringify(o)).toString('base64url')}.${s}`;
  await assert.rejects(verifyReceipt(withPayload({ ...payload, leafIndex: 6 }), ledger.key.vkey), { name: 'ReceiptInvalid', code: 'bad_signature' });
  await assert.rejects(verifyReceipt('not.a.jws', ledger.key.vkey), { name: 'ReceiptInvalid', code: 'malformed_receipt' });
  const other = await openLedger(join(dir, 'other'));
  await assert.rejects(verifyReceipt(receipt, other.key.vkey), { name: 'ReceiptInvalid', code: 'bad_signature' });
  await assert.rejects(verifyReceipt(receipt, other.key.publicKeyPem), { name: 'ReceiptInvalid', code: 'bad_signature' });
  // A correctly signed receipt whose claims disagree with the logged entry (e.g. another request's digest).
  const lying = signReceipt(ledger.key, { ...subjectFor(i), requestDigest: subjectFor(6).requestDigest }, results[i]!, Date.now());
  await assert.rejects(receiptVerify({ receipt: lying, log: `${base}/audit/v1`, key: ledger.key.vkey }), { name: 'ReceiptInvalid', code: 'entry_disagrees' });
  // A receipt pointing at a leaf hash the log does not hold.
  const ghost = signReceipt(ledger.key, subjectFor(i), { ...results[i]!, leafHash: results[7]!.leafHash }, Date.now());
  await assert.rejects(receiptVerify({ receipt: ghost, log: `${base}/audit/v1`, key: ledger.key.vkey }), { name: 'ReceiptInvalid', code: 'not_in_log' });
  // Another log (other key) cannot vouch for this receipt.
  await other.append(inferenceEvent(0));
  const otherDir = join(dir, 'other-static');
  await exportStatic(other, otherDir);
  await other.close();
  await assert.rejects(receiptVerify({ receipt, log: otherDir, key: ledger.key.vkey }), { name: 'NoteSignatureInvalid' });
  await assert.rejects(receiptVerify({ receipt, log: `${base}/audit/v1`, key: ledger.key.vkey, request: Buffer.from('other') }), { code: 'request_digest_mismatch' });
});
