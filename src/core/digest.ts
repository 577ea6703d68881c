import { createHash } from 'node:crypto';

/** `sha256:<hex>` digest of bytes or a UTF-8 string. */
export function sha256Digest(data: string | Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
