// The attestation document inside the COSE payload, checked field by field as the AWS Nitro
// attestation process §3.2.2 prescribes. Unknown fields are refused: the format is closed.
import { AttestationMalformed } from '../errors.js';
import { decodeCbor } from './cose-sign1.js';

export interface NitroDocument {
  moduleId: string;
  digest: 'SHA384';
  /** Epoch ms, as signed by the NSM. */
  timestamp: number;
  pcrs: Map<number, Buffer>;
  certificate: Buffer;
  /** [ROOT, INTERM_1, …, INTERM_N] in this order (§3.2.3). */
  cabundle: Buffer[];
  publicKey: Buffer | null;
  userData: Buffer | null;
  nonce: Buffer | null;
}

const ALLOWED = new Set(['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle', 'public_key', 'user_data', 'nonce']);

function bytesIn(v: unknown, field: string, min: number, max: number): Buffer {
  if (!(v instanceof Uint8Array)) throw new AttestationMalformed(`nitro document: ${field} is not a byte string`);
  if (v.length < min || v.length > max) throw new AttestationMalformed(`nitro document: ${field} length ${v.length} outside ${min}..${max}`);
  return Buffer.from(v);
}

/** Real NSM documents encode absent optional fields as CBOR null; null is accepted for those only. */
function optionalBytes(m: Map<unknown, unknown>, field: string, min: number, max: number): Buffer | null {
  const v = m.get(field);
  if (v === undefined || v === null) return null;
  return bytesIn(v, field, min, max);
}

export function parseNitroDocument(payload: Uint8Array): NitroDocument {
  const decoded = decodeCbor(payload, 'nitro document');
  if (!(decoded instanceof Map)) throw new AttestationMalformed('nitro document: payload is not a CBOR map');
  const m: Map<unknown, unknown> = decoded;
  for (const k of m.keys()) {
    if (typeof k !== 'string' || !ALLOWED.has(k)) throw new AttestationMalformed(`nitro document: unexpected field ${String(k)}`);
  }

  const moduleId = m.get('module_id');
  if (typeof moduleId !== 'string' || moduleId.length === 0) throw new AttestationMalformed('nitro document: module_id must be a non-empty text string');
  const digest = m.get('digest');
  if (digest !== 'SHA384') throw new AttestationMalformed(`nitro document: digest must be SHA384, got ${String(digest)}`);
  const ts = m.get('timestamp');
  const timestamp = typeof ts === 'bigint' ? Number(ts) : ts;
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp <= 0)
    throw new AttestationMalformed('nitro document: timestamp must be a positive integer');

  const rawPcrs = m.get('pcrs');
  if (!(rawPcrs instanceof Map) || rawPcrs.size < 1 || rawPcrs.size > 32) throw new AttestationMalformed('nitro document: pcrs must be a map of 1..32 entries');
  const pcrs = new Map<number, Buffer>();
  for (const [idx, value] of rawPcrs) {
    if (typeof idx !== 'number' || !Number.isInteger(idx) || idx < 0 || idx >= 32) throw new AttestationMalformed(`nitro document: PCR index ${String(idx)} is not 0..31`);
    const v = bytesIn(value, `PCR${idx}`, 32, 64);
    if (![32, 48, 64].includes(v.length)) throw new AttestationMalformed(`nitro document: PCR${idx} length ${v.length} is not 32, 48 or 64`);
    pcrs.set(idx, v);
  }

  const certificate = bytesIn(m.get('certificate'), 'certificate', 1, 1024);
  const rawBundle = m.get('cabundle');
  if (!Array.isArray(rawBundle) || rawBundle.length === 0) throw new AttestationMalformed('nitro document: cabundle must be a non-empty array');
  const cabundle = rawBundle.map((c: unknown, i: number) => bytesIn(c, `cabundle[${i}]`, 1, 1024));

  return {
    moduleId,
    digest: 'SHA384',
    timestamp,
    pcrs,
    certificate,
    cabundle,
    publicKey: optionalBytes(m, 'public_key', 1, 1024),
    userData: optionalBytes(m, 'user_data', 0, 512),
    nonce: optionalBytes(m, 'nonce', 0, 512),
  };
}
