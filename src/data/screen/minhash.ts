// MinHash signatures over character 5-gram shingles of normalized text, and LSH banding to find candidate
// near-duplicate pairs without comparing every pair (Broder 1997; Leskovec, Rajaraman & Ullman, MMDS ch. 3).
import { createHash } from 'node:crypto';

export const NUM_HASHES = 64;
const BANDS = 16;
const ROWS = NUM_HASHES / BANDS;
const SHINGLE = 5;
// Fixed odd multipliers and offsets: the same text always gets the same signature.
const SEEDS = Array.from({ length: NUM_HASHES }, (_, i) => {
  const h = createHash('sha256').update(`warden-minhash-${i}`).digest();
  return [h.readUInt32LE(0) | 1, h.readUInt32LE(4)] as const;
});

export function normalizeText(t: string): string {
  return t.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

function fnv1a(s: string, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function minhash(normalized: string): Uint32Array {
  const sig = new Uint32Array(NUM_HASHES).fill(0xffffffff);
  const n = Math.max(1, normalized.length - SHINGLE + 1);
  for (let i = 0; i < n; i++) {
    const x = fnv1a(normalized, i, Math.min(normalized.length, i + SHINGLE));
    for (let k = 0; k < NUM_HASHES; k++) {
      const [a, b] = SEEDS[k]!;
      const v = (Math.imul(a, x) + b) >>> 0;
      if (v < sig[k]!) sig[k] = v;
    }
  }
  return sig;
}

export function estimatedJaccard(a: Uint32Array, b: Uint32Array): number {
  let same = 0;
  for (let k = 0; k < NUM_HASHES; k++) if (a[k] === b[k]) same++;
  return same / NUM_HASHES;
}

/** Pairs (i < j) whose estimated Jaccard similarity is at least `threshold`. */
export function nearDuplicatePairs(sigs: readonly Uint32Array[], threshold: number): [number, number, number][] {
  const seen = new Set<string>();
  const out: [number, number, number][] = [];
  for (let band = 0; band < BANDS; band++) {
    const buckets = new Map<string, number[]>();
    for (let i = 0; i < sigs.length; i++) {
      const key = Array.from(sigs[i]!.subarray(band * ROWS, (band + 1) * ROWS)).join(',');
      const b = buckets.get(key);
      if (b) b.push(i);
      else buckets.set(key, [i]);
    }
    for (const members of buckets.values()) {
      for (let x = 0; x < members.length; x++) {
        for (let y = x + 1; y < members.length; y++) {
          const i = members[x]!;
          const j = members[y]!;
          const key = `${i}:${j}`;
          if (seen.has(key)) continue;
          seen.add(key);
          const s = estimatedJaccard(sigs[i]!, sigs[j]!);
          if (s >= threshold) out.push([i, j, s]);
        }
      }
    }
  }
  return out.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
}
