// The signature file: a Sigstore bundle (protobuf-specs sigstore_bundle.proto, JSON form) whose
// content is a DSSE envelope, as OpenSSF model_signing writes it. With a plain key there is no
// certificate and no transparency-log entry: `verificationMaterial.publicKey.hint` only names the key.
import type { KeyObject } from 'node:crypto';
import { parseEnvelope, type DsseEnvelope } from './dsse.js';
import { SignatureBundleMalformed } from './errors.js';
import { publicKeyHint } from './keys.js';

export const BUNDLE_MEDIA_TYPE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const ACCEPTED_MEDIA_TYPES = new Set([
  BUNDLE_MEDIA_TYPE_V03,
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
]);

export interface SignatureBundle {
  mediaType: string;
  verificationMaterial: Record<string, unknown>;
  dsseEnvelope: DsseEnvelope;
}

export function makeBundle(envelope: DsseEnvelope, publicKey: KeyObject): SignatureBundle {
  return {
    mediaType: BUNDLE_MEDIA_TYPE_V03,
    verificationMaterial: { publicKey: { hint: publicKeyHint(publicKey) }, tlogEntries: [] },
    dsseEnvelope: envelope,
  };
}

export function parseBundle(input: string | Uint8Array | unknown): SignatureBundle {
  let value: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      value = JSON.parse(Buffer.from(input as Uint8Array | string).toString('utf8'));
    } catch {
      throw new SignatureBundleMalformed('signature bundle is not JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SignatureBundleMalformed('signature bundle is not an object');
  const b = value as Record<string, unknown>;
  if (typeof b.mediaType !== 'string' || !ACCEPTED_MEDIA_TYPES.has(b.mediaType)) {
    throw new SignatureBundleMalformed(`bundle mediaType ${JSON.stringify(b.mediaType)} is not a Sigstore bundle v0.2/v0.3`);
  }
  if (typeof b.verificationMaterial !== 'object' || b.verificationMaterial === null) throw new SignatureBundleMalformed('bundle has no verificationMaterial');
  if (b.dsseEnvelope === undefined) throw new SignatureBundleMalformed('bundle has no dsseEnvelope (message signatures are not model signatures)');
  return { mediaType: b.mediaType, verificationMaterial: b.verificationMaterial as Record<string, unknown>, dsseEnvelope: parseEnvelope(b.dsseEnvelope) };
}

export function serializeBundle(bundle: SignatureBundle): string {
  return JSON.stringify(bundle, null, 2) + '\n';
}
