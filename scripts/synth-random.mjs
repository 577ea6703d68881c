// The seeded randomness every synthetic-row generator shares (scripts/injection-synth*.mjs, status-messages.mjs):
// a small deterministic PRNG and the two draws built on it. One copy, so the generators cannot drift apart.

/** A deterministic generator of floats in [0, 1) from a 32-bit seed. */
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    s ^= s >>> 13;
    return (s >>> 0) / 2 ** 32;
  };
}

/** One element of `a`. */
export function pick(r, a) {
  return a[Math.floor(r() * a.length)];
}

/** An integer in [lo, hi]. */
export function int(r, lo, hi) {
  return lo + Math.floor(r() * (hi - lo + 1));
}
