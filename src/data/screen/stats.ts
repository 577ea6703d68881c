// Robust and drift statistics for the poisoning screen: median / MAD (Iglewicz & Hoaglin's modified z-score),
// the population stability index over the baseline's quantile bins, and the two-sample Kolmogorov–Smirnov test.

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Modified z-scores 0.6745 (x - median) / MAD; all 0 when MAD is 0 (then any x ≠ median is infinitely far). */
export function robustZ(xs: readonly number[]): { median: number; mad: number; z: number[] } {
  const med = median(xs);
  const mad = median(xs.map((x) => Math.abs(x - med)));
  const z = xs.map((x) => (mad === 0 ? (x === med ? 0 : Infinity) : (0.6745 * (x - med)) / mad));
  return { median: med, mad, z };
}

/** PSI = Σ (a - e) ln(a / e) over the baseline's decile bins (a, e: shares, floored at 1e-4). */
export function psi(baseline: readonly number[], current: readonly number[], bins = 10): number {
  if (baseline.length === 0 || current.length === 0) return 0;
  const s = [...baseline].sort((a, b) => a - b);
  const edges = [...new Set(Array.from({ length: bins - 1 }, (_, i) => s[Math.floor(((i + 1) * s.length) / bins)]!))];
  const share = (xs: readonly number[]) => {
    const c = new Array<number>(edges.length + 1).fill(0);
    for (const x of xs) {
      let k = 0;
      while (k < edges.length && x >= edges[k]!) k++;
      c[k]!++;
    }
    return c.map((n) => Math.max(n / xs.length, 1e-4));
  };
  const e = share(baseline);
  const a = share(current);
  return a.reduce((sum, ai, i) => sum + (ai - e[i]!) * Math.log(ai / e[i]!), 0);
}

/** PSI over categories (labels). */
export function categoricalPsi(baseline: ReadonlyMap<string, number>, current: ReadonlyMap<string, number>): number {
  const nb = [...baseline.values()].reduce((a, b) => a + b, 0);
  const nc = [...current.values()].reduce((a, b) => a + b, 0);
  let sum = 0;
  for (const k of new Set([...baseline.keys(), ...current.keys()])) {
    const e = Math.max((baseline.get(k) ?? 0) / nb, 1e-4);
    const a = Math.max((current.get(k) ?? 0) / nc, 1e-4);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** Two-sample KS: D = sup |F1 - F2| and the asymptotic p-value (Kolmogorov distribution, Stephens' correction). */
export function ks(a: readonly number[], b: readonly number[]): { d: number; p: number } {
  if (a.length === 0 || b.length === 0) return { d: 0, p: 1 };
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i]! <= v) i++;
    while (j < y.length && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  const ne = (x.length * y.length) / (x.length + y.length);
  const lambda = (Math.sqrt(ne) + 0.12 + 0.11 / Math.sqrt(ne)) * d;
  let p = 0;
  for (let k = 1; k <= 100; k++) p += 2 * (-1) ** (k - 1) * Math.exp(-2 * k * k * lambda * lambda);
  return { d, p: Math.min(1, Math.max(0, lambda < 1e-3 ? 1 : p)) };
}

/** Total variation distance between two label distributions. */
export function tvd(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number {
  const na = [...a.values()].reduce((x, y) => x + y, 0) || 1;
  const nb = [...b.values()].reduce((x, y) => x + y, 0) || 1;
  let s = 0;
  for (const k of new Set([...a.keys(), ...b.keys()])) s += Math.abs((a.get(k) ?? 0) / na - (b.get(k) ?? 0) / nb);
  return s / 2;
}
