// COSE_Sign1 (RFC 9052 §4.2) as the Nitro Secure Module emits it: [protected, unprotected, payload,
// signature], tagged 18 or untagged, ES384 only (AWS Nitro attestation process §3.1).
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { Decoder, Encoder, Tag } from 'cbor-x';
import { AttestationMalformed, AttestationSignatureInvalid } from '../errors.js';

const COSE_SIGN1_TAG = 18;
const HEADER_ALG = 1;
const ALG_ES384 = -35;
const ES384_SIGNATURE_BYTES = 96;

/** Maps stay Maps (integer keys matter in COSE), no record extensions, no implicit object building. */
export const strictCbor = new Decoder({ mapsAsObjects: false, useRecords: false });
const sigEncoder = new Encoder({ useRecords: false, tagUint8Array: false });

export interface CoseSign1 {
  protectedBytes: Buffer;
  payload: Buffer;
  signature: Buffer;
}

export function decodeCbor(bytes: Uint8Array, what: string): unknown {
  try {
    return strictCbor.decode(bytes);
  } catch (e) {
    throw new AttestationMalformed(`${what}: CBOR decoding failed (${(e as Error).message})`);
  }
}

function isBytes(v: unknown): v is Buffer {
  return v instanceof Uint8Array;
}

export function parseCoseSign1(bytes: Uint8Array): CoseSign1 {
  let top = decodeCbor(bytes, 'COSE_Sign1');
  if (top instanceof Tag) {
    if (top.tag !== COSE_SIGN1_TAG) throw new AttestationMalformed(`COSE_Sign1: unexpected CBOR tag ${top.tag}`);
    top = top.value;
  }
  if (!Array.isArray(top) || top.length !== 4) throw new AttestationMalformed('COSE_Sign1: expected an array of 4 elements');
  const [protectedBytes, unprotected, payload, signature] = top as unknown[];
  if (!isBytes(protectedBytes)) throw new AttestationMalformed('COSE_Sign1: protected header is not a byte string');
  if (!(unprotected instanceof Map)) throw new AttestationMalformed('COSE_Sign1: unprotected header is not a map');
  if (!isBytes(payload) || payload.length < 1 || payload.length > 16384)
    throw new AttestationMalformed('COSE_Sign1: payload must be a byte string of 1..16384 bytes');
  if (!isBytes(signature)) throw new AttestationMalformed('COSE_Sign1: signature is not a byte string');

  const header = decodeCbor(protectedBytes, 'COSE_Sign1 protected header');
  if (!(header instanceof Map)) throw new AttestationMalformed('COSE_Sign1: protected header is not a map');
  // The algorithm must be fixed by the signed header, never taken from the unprotected one (RFC 9052 §3.1).
  if (header.get(HEADER_ALG) !== ALG_ES384)
    throw new AttestationMalformed(`COSE_Sign1: protected alg must be ES384 (-35), got ${String(header.get(HEADER_ALG))}`);
  if (unprotected.has(HEADER_ALG)) throw new AttestationMalformed('COSE_Sign1: alg must not appear in the unprotected header');
  if (signature.length !== ES384_SIGNATURE_BYTES)
    throw new AttestationSignatureInvalid(`COSE_Sign1: ES384 signature must be ${ES384_SIGNATURE_BYTES} bytes, got ${signature.length}`);
  return { protectedBytes: Buffer.from(protectedBytes), payload: Buffer.from(payload), signature: Buffer.from(signature) };
}

/** Sig_structure = ["Signature1", body_protected, external_aad = h'', payload] (RFC 9052 §4.4). */
export function sigStructure(msg: CoseSign1): Buffer {
  return Buffer.from(sigEncoder.encode(['Signature1', msg.protectedBytes, Buffer.alloc(0), msg.payload]));
}

export function verifyCoseSign1Es384(msg: CoseSign1, spkiDer: Uint8Array): void {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  } catch (e) {
    throw new AttestationSignatureInvalid(`COSE_Sign1: signing certificate key cannot be used (${(e as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1')
    throw new AttestationSignatureInvalid('COSE_Sign1: ES384 requires a P-384 signing key');
  // r ‖ s, 48 bytes each (RFC 9053 §2.1).
  const ok = cryptoVerify('sha384', sigStructure(msg), { key, dsaEncoding: 'ieee-p1363' }, msg.signature);
  if (!ok) throw new AttestationSignatureInvalid('COSE_Sign1: ES384 signature does not verify with the document certificate');
}
