// RFC 8785 (JCS) canonical JSON: the one canonicalizer, used for ledger entries, digests and receipts.
import canonicalizeLib from 'canonicalize';

const canonicalizeFn = canonicalizeLib as unknown as (v: unknown) => string | undefined;

export function canonicalJson(value: unknown): string {
  const s = canonicalizeFn(value);
  if (s === undefined) throw new TypeError('value cannot be canonicalized (undefined or a function)');
  return s;
}
