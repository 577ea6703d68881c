// SPIFFE ID parsing and validation, per the SPIFFE-ID specification §2 ("SPIFFE Identity"):
//   spiffe://<trust-domain>/<path>
// - scheme exactly "spiffe" (lowercase); no userinfo, port, query or fragment (§2.1, §2.2);
// - trust domain: lowercase letters, digits, '.', '-', '_' only, at most 255 bytes (§2.1);
// - path: segments of letters, digits, '.', '-', '_'; no empty, "." or ".." segment, no trailing
//   slash (§2.2); the whole ID at most 2048 bytes (§2.3).
// Hand-parsed instead of WHATWG URL: URL() would percent-decode, normalize dot segments and
// lowercase the host, silently turning an invalid ID into a valid-looking one.
import { InvalidClientCertificate } from '../errors.js';

export interface SpiffeId {
  /** The full ID as presented, e.g. `spiffe://prod.acme.example/ns/payments/sa/api`. */
  id: string;
  trustDomain: string;
  /** Path without the leading slash split into segments; empty for the trust domain's own ID. */
  segments: string[];
}

const SCHEME = 'spiffe://';
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

function reject(rule: string): never {
  throw new InvalidClientCertificate(`spiffe_id_${rule}`);
}

export function parseSpiffeId(uri: string): SpiffeId {
  if (Buffer.byteLength(uri) > 2048) reject('too_long');
  if (!uri.startsWith(SCHEME)) reject('scheme');
  const rest = uri.slice(SCHEME.length);
  if (/[?#]/.test(rest)) reject('query_or_fragment');
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  if (trustDomain.length === 0) reject('empty_trust_domain');
  if (trustDomain.includes('@')) reject('userinfo');
  if (trustDomain.includes(':')) reject('port');
  if (trustDomain.length > 255 || !TRUST_DOMAIN.test(trustDomain)) reject('trust_domain_chars');
  if (slash === -1) return { id: uri, trustDomain, segments: [] };
  const segments = rest.slice(slash + 1).split('/');
  for (const seg of segments) {
    if (seg.length === 0) reject('empty_segment');
    if (seg === '.' || seg === '..') reject('dot_segment');
    if (!SEGMENT.test(seg)) reject('path_chars');
  }
  return { id: uri, trustDomain, segments };
}
