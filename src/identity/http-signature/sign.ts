// Client side of RFC 9421 + RFC 9530, for Warden's tests, SDK snippets and the README walkthrough:
// returns the Content-Digest, Signature-Input and Signature fields to add to a request.
import { randomBytes, type KeyObject, createPrivateKey } from 'node:crypto';
import type { InnerList, Item, Parameters } from 'structured-headers';
import { serializeDictionary } from 'structured-headers';
import { createSignature, type SignatureAlgorithm } from './algorithms.js';
import { contentDigest, type DigestAlgorithm } from './content-digest.js';
import type { HttpRequestParts } from './request.js';
import { buildSignatureBase } from './signature-base.js';

export interface SignRequestOptions {
  keyId: string;
  privateKey: KeyObject | string;
  alg: SignatureAlgorithm;
  /** Default `sig1`. */
  label?: string;
  /** Unix seconds; default now. */
  created?: number;
  /** Default 16 random bytes, base64url. */
  nonce?: string;
  /** Covered components; default `@method`, `@target-uri`, plus `content-digest` and `content-type` with a body. */
  components?: string[];
  digestAlgorithm?: DigestAlgorithm;
  /** Include `alg` in the parameters (optional per §2.3); default true. */
  includeAlg?: boolean;
}

export interface SignedFields {
  'content-digest'?: string;
  'signature-input': string;
  signature: string;
}

export function signRequest(request: HttpRequestParts, opts: SignRequestOptions): SignedFields {
  const body = request.body ?? new Uint8Array(0);
  const out: Partial<SignedFields> = {};
  const headers = { ...request.headers };
  const hasBody = body.length > 0;
  const components = opts.components ?? ['@method', '@target-uri', ...(hasBody ? ['content-digest'] : []), ...(hasBody && hasHeader(headers, 'content-type') ? ['content-type'] : [])];
  if (components.includes('content-digest')) {
    out['content-digest'] = contentDigest(body, opts.digestAlgorithm);
    headers['content-digest'] = out['content-digest'];
  }
  const params = new Map<string, string | number>();
  params.set('created', opts.created ?? Math.floor(Date.now() / 1000));
  params.set('keyid', opts.keyId);
  if (opts.includeAlg ?? true) params.set('alg', opts.alg);
  params.set('nonce', opts.nonce ?? randomBytes(16).toString('base64url'));
  const covered: InnerList = [components.map((c): Item => [c, new Map() as Parameters]), params];
  const base = buildSignatureBase(covered, { ...request, headers });
  const key = typeof opts.privateKey === 'string' ? createPrivateKey(opts.privateKey) : opts.privateKey;
  const sig = createSignature(opts.alg, key, Buffer.from(base));
  const label = opts.label ?? 'sig1';
  out['signature-input'] = serializeDictionary(new Map([[label, covered]]));
  out.signature = serializeDictionary(new Map([[label, [sig, new Map()]]]));
  return out as SignedFields;
}

function hasHeader(headers: HttpRequestParts['headers'], name: string): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === name && headers[k] !== undefined);
}
