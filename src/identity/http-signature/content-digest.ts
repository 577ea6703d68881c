// RFC 9530 Content-Digest: a Dictionary of algorithm → Byte Sequence over the message content.
import { createHash, timingSafeEqual } from 'node:crypto';
import { parseDictionary, serializeDictionary, isInnerList } from 'structured-headers';
import { InvalidRequestSignature } from '../errors.js';

/** RFC 9530 §5 "Hash Algorithms for HTTP Digest Fields": the two with status "Active". */
const ALGORITHMS: Record<string, string> = { 'sha-256': 'sha256', 'sha-512': 'sha512' };

export type DigestAlgorithm = 'sha-256' | 'sha-512';

export function contentDigest(body: Uint8Array, alg: DigestAlgorithm = 'sha-256'): string {
  const digest = createHash(ALGORITHMS[alg]!).update(body).digest();
  return serializeDictionary({ [alg]: digest });
}

/**
 * Checks a Content-Digest field value against the body. Every supported algorithm present must
 * match and at least one must be present (RFC 9530 §2: unknown algorithms are ignored, so a field
 * with only unknown ones proves nothing and is refused).
 */
export function verifyContentDigest(field: string | undefined, body: Uint8Array, realm?: string): void {
  if (field === undefined) throw new InvalidRequestSignature('content_digest_missing', realm);
  let dict: ReturnType<typeof parseDictionary>;
  try {
    dict = parseDictionary(field);
  } catch {
    throw new InvalidRequestSignature('content_digest_malformed', realm);
  }
  let checked = 0;
  for (const [alg, member] of dict) {
    const hash = ALGORITHMS[alg];
    if (!hash) continue;
    if (isInnerList(member) || !(member[0] instanceof ArrayBuffer)) throw new InvalidRequestSignature('content_digest_malformed', realm);
    const claimed = Buffer.from(member[0]);
    const actual = createHash(hash).update(body).digest();
    if (claimed.length !== actual.length || !timingSafeEqual(claimed, actual)) throw new InvalidRequestSignature('content_digest_mismatch', realm);
    checked++;
  }
  if (checked === 0) throw new InvalidRequestSignature('content_digest_no_supported_algorithm', realm);
}
