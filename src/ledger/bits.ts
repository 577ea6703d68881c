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

export function log2Exact(p: number): number {
  let l = 0;
  while (2 ** l < p) l++;
  return l;
}
