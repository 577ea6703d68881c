import { randomBytes, randomUUID } from 'node:crypto';

/** Request ids: `req_` + 24 hex chars. Random so they leak nothing about volume. */
export function newRequestId(): string {
  return 'req_' + randomBytes(12).toString('hex');
}

export function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
}
