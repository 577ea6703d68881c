// Integer helpers for tree arithmetic on safe integers (JS bit operators are 32-bit, so none are used).

export function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  let p = 1;
  while (p < n) p *= 2;
  return p === n;
}

/** Largest power of two strictly below n (n > 1): the split point k of RFC 9162 §2.1.1. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Largest power of two p with lo % p === 0 and p <= span: the biggest complete subtree starting at lo. */
export function largestAlignedSubtree(lo: number, span: number): number {
  let p = 1;
  while (p * 2 <= span && lo % (p * 2) === 0) p *= 2;
  return p;
}

/** Smallest l with 2^l >= p. Math.log2 is exact on powers of two; the loops only correct rounding elsewhere. */
export function log2Exact(p: number): number {
  if (p <= 1) return 0;
  let l = Math.max(0, Math.floor(Math.log2(p)));
  while (2 ** l < p) l++;
  while (l > 0 && 2 ** (l - 1) >= p) l--;
  return l;
}
