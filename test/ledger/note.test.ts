import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createPrivateKey, sign as edSign } from 'node:crypto';
import { testdata } from '../helpers/testdata.js';
import { ed25519KeyId, formatVerifierKey, openNote, parseNote, parseVerifierKey, signNote } from '../../src/ledger/note.js';
import { openCheckpoint, parseCheckpointBody, signCheckpoint } from '../../src/ledger/checkpoint.js';
import { CheckpointMalformed, NoteMalformed, NoteSignatureInvalid, VerifierKeyMalformed } from '../../src/ledger/errors.js';

interface Vector {
  id: string;
  vkey?: string | null;
  vkeys?: string[];
  skey?: string;
  note?: string;
  note_body?: string;
  signed_text?: string;
  expected_valid?: boolean;
  expected_vkey_parse?: boolean;
  parsed?: { origin: string; tree_size: number; root_hash_b64: string };
  parsed_cosignature?: { key_id_hex: string };
}
const VECTORS = JSON.parse(readFileSync(testdata('crypto_vectors', 'signed_note', 'signed_note_vectors.json'), 'utf8')) as Vector[];
const byId = (id: string) => {
  const v = VECTORS.find((x) => x.id === id);
  assert.ok(v, `vector ${id} missing`);
  return v;
};

/** RFC 8410 PKCS#8 wrapping of a raw Ed25519 seed, to load the Go test skey. */
function ed25519FromSeed(seed: Buffer) {
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
}

test('C2SP and Go signed-note vectors: valid notes open with their verifier key', () => {
  for (const id of ['c2sp-signed-note-example', 'go-sumdb-note-peter', 'go-sumdb-note-enoch']) {
    const v = byId(id);
    const key = parseVerifierKey(v.vkey!);
    const opened = openNote(v.note!, [key]);
    assert.equal(opened.text, v.signed_text);
    assert.deepEqual(opened.verifiedBy, [key.name]);
    // vkey re-encoding and key ID recomputation reproduce the published string.
    assert.equal(formatVerifierKey(key.name, key.rawPublicKey), v.vkey);
    assert.equal(ed25519KeyId(key.name, key.rawPublicKey).toString('hex'), v.vkey!.split('+')[1]);
  }
  const two = byId('go-sumdb-note-two-sigs');
  assert.deepEqual(openNote(two.note!, two.vkeys!.map(parseVerifierKey)).verifiedBy, ['PeterNeumann', 'EnochRoot']);
  // Only one of the two keys trusted: the other signature is ignored, not an error.
  assert.deepEqual(openNote(two.note!, [parseVerifierKey(two.vkeys![1]!)]).verifiedBy, ['EnochRoot']);
});

test('signing with the Go skey reproduces the published signature byte for byte', () => {
  const v = byId('go-sumdb-note-peter');
  const material = Buffer.from(v.skey!.split('+').slice(4).join('+'), 'base64');
  assert.equal(material[0], 0x01);
  const key = parseVerifierKey(v.vkey!);
  const note = signNote(v.signed_text!, [{ name: key.name, keyId: key.keyId, sign: (m: Buffer) => edSign(null, m, ed25519FromSeed(material.subarray(1))) }]);
  assert.equal(note, v.note);
});

test('a tampered signature from a trusted key rejects the note', () => {
  const v = byId('go-sumdb-note-enoch-tampered-sig');
  assert.equal(v.expected_valid, false);
  assert.throws(() => openNote(v.note!, [parseVerifierKey(v.vkey!)]), { name: 'NoteSignatureInvalid', code: 'bad_signature' });
});

test('a note signed only by an unknown name is rejected as having no trusted signature', () => {
  const v = byId('go-sumdb-note-misnamed');
  assert.throws(() => openNote(v.note!, [parseVerifierKey(v.vkey!)]), { name: 'NoteSignatureInvalid', code: 'no_trusted_signature' });
});

test('malformed verifier keys are refused: bad length, unknown algorithm, wrong key id, garbage', () => {
  assert.throws(() => parseVerifierKey(byId('go-sumdb-note-badkey-len').vkey!), VerifierKeyMalformed);
  assert.throws(() => parseVerifierKey(byId('go-sumdb-note-badkey-alg').vkey!), { name: 'VerifierKeyMalformed', code: 'unsupported_algorithm' });
  assert.throws(() => parseVerifierKey('PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), { code: 'key_id_mismatch' });
  assert.throws(() => parseVerifierKey('no-plus-signs'), { code: 'bad_vkey' });
  assert.throws(() => parseVerifierKey('bad name+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), { code: 'bad_key_name' });
});

test('parse-only notes: blank line in text, checkpoint body, cosignature line, Go tree body', () => {
  const intro = parseNote(byId('c2sp-signed-note-intro').note!);
  assert.equal(intro.text, 'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n');
  assert.equal(intro.signatures[0]!.name, 'quasimodo.example/salvatore');

  const cpv = byId('c2sp-tlog-checkpoint-example');
  const cp = parseCheckpointBody(parseNote(cpv.note!).text);
  assert.deepEqual({ origin: cp.origin, tree_size: cp.size, root_hash_b64: cp.rootHash.toString('base64') }, cpv.parsed);

  const cos = parseNote(byId('c2sp-tlog-cosignature-example').note!);
  assert.equal(cos.signatures.length, 2);
  assert.equal(cos.signatures[1]!.keyId.toString('hex'), byId('c2sp-tlog-cosignature-example').parsed_cosignature!.key_id_hex);

  const gov = byId('go-sumdb-tlog-tree-note-body');
  const g = parseCheckpointBody(gov.note_body!);
  assert.equal(g.size, gov.parsed!.tree_size);
  assert.equal(g.origin, gov.parsed!.origin);
});

test('malformed notes and checkpoint bodies are refused with precise codes', () => {
  const ok = byId('c2sp-signed-note-example').note!;
  assert.throws(() => parseNote(ok.slice(0, -1)), { name: 'NoteMalformed', code: 'no_final_newline' });
  assert.throws(() => parseNote(ok.replace('\n\n', '\n')), NoteMalformed);
  assert.throws(() => parseNote(ok.replace('This', 'Th\tis')), { code: 'control_character' });
  assert.throws(() => parseNote(ok.replace('\u2014 ', '- ')), { code: 'bad_signature_line' });
  assert.throws(() => parseCheckpointBody('origin\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n'), { name: 'CheckpointMalformed', code: 'bad_size' });
  assert.throws(() => parseCheckpointBody('origin\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2=\n'), { code: 'bad_root' });
  assert.throws(() => parseCheckpointBody('origin\n12\n'), { code: 'too_few_lines' });
  assert.throws(() => parseCheckpointBody('\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n'), { code: 'bad_origin' });
});

test('our own checkpoints sign and open; origin and signature are enforced', async () => {
  const { generateKeyPairSync } = await import('node:crypto');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const name = 'warden.test/ledger';
  const v = parseVerifierKey(formatVerifierKey(name, raw));
  const signed = signCheckpoint({ origin: name, size: 5, rootHash: Buffer.alloc(32, 7) }, { name, keyId: v.keyId, sign: (m) => edSign(null, m, privateKey) });
  const opened = openCheckpoint(signed.note, v);
  assert.equal(opened.size, 5);
  assert.throws(() => openCheckpoint(signed.note.replace('\n5\n', '\n6\n'), v), NoteSignatureInvalid);
  assert.throws(() => openCheckpoint(signed.note, v, 'other.origin'), { name: 'CheckpointMalformed', code: 'origin_mismatch' });
  const other = generateKeyPairSync('ed25519');
  const otherRaw = Buffer.from(other.publicKey.export({ format: 'jwk' }).x!, 'base64url');
  assert.throws(() => openCheckpoint(signed.note, parseVerifierKey(formatVerifierKey(name, otherRaw))), { code: 'no_trusted_signature' });
  assert.ok(CheckpointMalformed);
});
