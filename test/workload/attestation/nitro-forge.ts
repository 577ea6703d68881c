// Builds Nitro attestation documents signed by a test PKI, byte-compatible with what the NSM emits
// (COSE_Sign1, ES384, cabundle [root, intermediates…]), so every refusal path can be provoked.
import { webcrypto } from 'node:crypto';
import { Encoder } from 'cbor-x';
import type { Issued } from './test-pki.js';
import { der, issue, selfSignedCa } from './test-pki.js';

const enc = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: false });
export const HOUR = 3_600_000;

export interface NitroPki {
  root: Issued;
  intermediate: Issued;
  leaf: Issued;
  rootPem: string;
}

/** Certificates valid from `base - 1h` to `base + 3h` (the leaf) like real Nitro leaves. */
export async function createNitroPki(base: number): Promise<NitroPki> {
  const root = await selfSignedCa('CN=test-nitro-root', new Date(base - 24 * HOUR), new Date(base + 365 * 24 * HOUR));
  const intermediate = await issue(root, 'CN=test-nitro-zonal', { ca: true, notBefore: new Date(base - 24 * HOUR), notAfter: new Date(base + 24 * HOUR) });
  const leaf = await issue(intermediate, 'CN=i-test-enc', { ca: false, notBefore: new Date(base - HOUR), notAfter: new Date(base + 3 * HOUR) });
  return { root, intermediate, leaf, rootPem: root.cert.toString('pem') };
}

export interface ForgeOptions {
  timestamp: number;
  pcrs: Record<number, Buffer>;
  nonce?: Buffer | null;
  publicKey?: Buffer | null;
  userData?: Buffer | null;
  /** Replace the cabundle (default [root, intermediate]). */
  cabundle?: Buffer[];
  /** Sign with another key than the leaf's. */
  signingKey?: webcrypto.CryptoKey;
  protectedHeader?: Map<number, number>;
  extraField?: [string, unknown];
  tagged?: boolean;
}

export async function forgeNitroDocument(pki: NitroPki, o: ForgeOptions): Promise<Buffer> {
  const doc = new Map<string, unknown>([
    ['module_id', 'i-test-enc0123456789'],
    ['digest', 'SHA384'],
    ['timestamp', o.timestamp],
    ['pcrs', new Map(Object.entries(o.pcrs).map(([k, v]) => [Number(k), v]))],
    ['certificate', der(pki.leaf.cert)],
    ['cabundle', o.cabundle ?? [der(pki.root.cert), der(pki.intermediate.cert)]],
    ['public_key', o.publicKey ?? null],
    ['user_data', o.userData ?? null],
    ['nonce', o.nonce ?? null],
  ]);
  if (o.extraField) doc.set(o.extraField[0], o.extraField[1]);
  const payload = Buffer.from(enc.encode(doc));
  const protectedBytes = Buffer.from(enc.encode(o.protectedHeader ?? new Map([[1, -35]])));
  const toSign = Buffer.from(enc.encode(['Signature1', protectedBytes, Buffer.alloc(0), payload]));
  const sig = Buffer.from(
    await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-384' }, o.signingKey ?? pki.leaf.keys.privateKey, toSign),
  );
  const cose = [protectedBytes, new Map(), payload, sig];
  if (o.tagged) {
    const { Tag } = await import('cbor-x');
    return Buffer.from(enc.encode(new Tag(cose, 18)));
  }
  return Buffer.from(enc.encode(cose));
}

export function pcrValues(seed: number): Record<number, Buffer> {
  return { 0: Buffer.alloc(48, seed), 1: Buffer.alloc(48, seed + 1), 2: Buffer.alloc(48, seed + 2), 8: Buffer.alloc(48, seed + 8) };
}

export function referenceFor(pcrs: Record<number, Buffer>) {
  return { type: 'nitro' as const, pcrs: Object.fromEntries(Object.entries(pcrs).map(([k, v]) => [k, v.toString('hex')])) };
}
