import { hash } from 'node:crypto';

// One-shot crypto.hash (Node >= 20.12, every supported runtime): about 40% less CPU than createHash().update()
// .digest() on the small inputs hashed per request (request and response digests, API keys, ledger leaves).

/** `sha256:<hex>` digest of bytes or a UTF-8 string. */
export function sha256Digest(data: string | Uint8Array): string {
  return 'sha256:' + sha256Hex(data);
}

export function sha256Hex(data: string | Uint8Array): string {
  return hash('sha256', data, 'hex');
}
