// DSSE v1 (secure-systems-lab/dsse protocol.md, envelope.md): the signature covers
// PAE(payloadType, payload), never the raw payload, so the type cannot be swapped under it.
import type { KeyObject } from 'node:crypto';
import { decodeBase64Strict } from './base64.js';
import { ModelSignatureInvalid, SignatureBundleMalformed } from './errors.js';
import { verifySignature, type Signer } from './keys.js';

export interface DsseSignature {
  sig: string;
  keyid?: string | null;
}

export interface DsseEnvelope {
  payload: string;
  payloadType: string;
  signatures: DsseSignature[];
}

/** protocol.md "Signature definition": "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN in ASCII decimal bytes. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'ascii'),
    type,
    Buffer.from(` ${payload.length} `, 'ascii'),
    payload,
  ]);
}

export async function signEnvelope(payloadType: string, payload: Uint8Array, signer: Signer): Promise<DsseEnvelope> {
  const sig = await signer.sign(pae(payloadType, payload));
  return { payload: Buffer.from(payload).toString('base64'), payloadType, signatures: [{ sig: sig.toString('base64') }] };
}

/** Checks the envelope's shape; returns it typed. Unknown fields are ignored as envelope.md allows. */
export function parseEnvelope(value: unknown): DsseEnvelope {
  const malformed = (m: string) => new SignatureBundleMalformed(`DSSE envelope: ${m}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed('not an object');
  const e = value as Record<string, unknown>;
  if (typeof e.payload !== 'string') throw malformed('payload missing');
  if (typeof e.payloadType !== 'string' || e.payloadType === '') throw malformed('payloadType missing');
  if (!Array.isArray(e.signatures) || e.signatures.length === 0) throw malformed('no signatures');
  for (const s of e.signatures) {
    if (typeof s !== 'object' || s === null || typeof (s as DsseSignature).sig !== 'string') throw malformed('signature without sig');
  }
  return { payload: e.payload, payloadType: e.payloadType, signatures: e.signatures as DsseSignature[] };
}

/**
 * protocol.md "Protocol" verification: decode, rebuild PAE, accept if a signature verifies under
 * the trusted key. Returns the authenticated payload; callers must use only these bytes.
 */
export function verifyEnvelope(envelope: DsseEnvelope, trustedKey: KeyObject, expectedPayloadType: string): Buffer {
  if (envelope.payloadType !== expectedPayloadType) {
    throw new ModelSignatureInvalid(`DSSE payloadType is ${JSON.stringify(envelope.payloadType)}, expected ${JSON.stringify(expectedPayloadType)}`);
  }
  const malformed = (m: string) => new SignatureBundleMalformed(m);
  const payload = decodeBase64Strict(envelope.payload, 'DSSE payload', malformed);
  const message = pae(envelope.payloadType, payload);
  for (const [i, s] of envelope.signatures.entries()) {
    const sig = decodeBase64Strict(s.sig, `DSSE signature ${i}`, malformed);
    if (verifySignature(trustedKey, message, sig)) return payload;
  }
  throw new ModelSignatureInvalid('no DSSE signature verifies under the trusted key');
}
