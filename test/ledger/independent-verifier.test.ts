// Code Warden did not write accepts our published checkpoint and inclusion proofs: sigstore-js
// (@sigstore/verify, dev dependency) parses the C2SP signed note, checks its Ed25519 signature by key
// hint, and recomputes the RFC 6962 root from an inclusion proof with its own implementation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { verifyCheckpoint } from '@sigstore/verify/dist/tlog/checkpoint.js';
import { verifyMerkleInclusion } from '@sigstore/verify/dist/tlog/merkle.js';
import { createAuditHandler } from '../../src/ledger/http.js';
import { decodeEntryBundle, tilePath, tileWidthAt } from '../../src/ledger/tiles.js';
import { appendRange, openLedger, tmpDir } from './helpers.js';

test('sigstore-js verifies the served checkpoint signature and RFC 6962 inclusion proofs of our entries', async (t) => {
  const dir = tmpDir();
  const ledger = await openLedger(dir);
  const other = await openLedger(dir + '-other');
  t.after(async () => {
    await ledger.close();
    await other.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(dir + '-other', { recursive: true, force: true });
  });
  await appendRange(ledger, 0, 777);
  const handler = createAuditHandler(ledger);
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/audit/v1`;

  const note = await (await fetch(`${base}/checkpoint`)).text();
  // The trust material a sigstore client would hold for this log: key hint (our C2SP key ID) and the key.
  const tlog = { logID: ledger.key.signer.keyId, publicKey: ledger.key.publicKey, baseURL: `https://${ledger.key.name}`, validFor: { start: new Date(0), end: new Date(8.64e15) } };

  const entryFor = async (index: number, size: number, body?: Buffer) => {
    const proof = (await (await fetch(`${base}/proof/inclusion?index=${index}&size=${size}`)).json()) as { hashes: string[]; rootHash: string };
    const bi = Math.floor(index / 256);
    const path = tilePath({ level: 'entries', index: bi, width: tileWidthAt(0, bi, size) });
    const bundle = decodeEntryBundle(Buffer.from(await (await fetch(`${base}/${path}`)).arrayBuffer()));
    return {
      canonicalizedBody: body ?? bundle[index % 256]!,
      inclusionProof: { logIndex: String(index), treeSize: String(size), rootHash: Buffer.from(proof.rootHash, 'base64'), hashes: proof.hashes.map((h) => Buffer.from(h, 'base64')), checkpoint: { envelope: note } },
    };
  };

  for (const index of [0, 1, 255, 256, 511, 700, 776]) {
    const entry = await entryFor(index, 777);
    const checkpoint = verifyCheckpoint(entry as never, [tlog] as never);
    assert.equal(checkpoint.logSize, 777n);
    verifyMerkleInclusion(entry as never, checkpoint);
  }
  // And it rejects what it should: an altered entry, and a checkpoint checked against another key.
  const altered = await entryFor(5, 777, Buffer.from('{"forged":true}'));
  assert.throws(() => verifyMerkleInclusion(altered as never, verifyCheckpoint(altered as never, [tlog] as never)), /root hash does not match/);
  const wrongKey = { ...tlog, publicKey: other.key.publicKey };
  const e5 = await entryFor(5, 777);
  assert.throws(() => verifyCheckpoint(e5 as never, [wrongKey] as never), /invalid checkpoint signature/);
});
