// The poisoning screen's thresholds: their defaults and the range each may take. One table serves warden.yaml
// (`data.screen.thresholds`, validated by the config schema at load) and `warden data screen --thresholds FILE`,
// so a threshold the config refuses is refused from a file too. Kept apart from screen.ts so the config loader
// does not pull in the detectors.
import { INJECTION_BLOCK_CUT } from '../../core/injection-cuts.js';

export interface ScreenThresholds {
  /** Share of records that repeat an earlier record's text exactly. */
  exactDuplicateRate: number;
  /** Share of records in a near-duplicate pair (MinHash estimate ≥ nearDuplicateJaccard) that are not exact. */
  nearDuplicateRate: number;
  nearDuplicateJaccard: number;
  /** Share of records whose (near-)duplicate carries another label. */
  conflictingLabelRate: number;
  /** Records whose text is in the baseline under another label (relabelled). */
  labelChangesMax: number;
  /** Total variation distance of the label distribution from the baseline's. */
  labelTvd: number;
  /** |modified z| above which a value is an outlier, and the share of outlying records that alarms. */
  outlierZ: number;
  outlierRate: number;
  /** A token is a trigger candidate when at least this share of its records carry one label ... */
  triggerPurity: number;
  /** ... it is in at least this many records ... */
  triggerMinSupport: number;
  /** ... and (with a baseline) it is this many times more frequent than in the baseline. */
  triggerLift: number;
  /** Without a baseline: the binomial tail of the label skew, before dividing by the vocabulary size. */
  triggerPValue: number;
  /** Injection detector score from which a text counts as carrying instructions, and how many may. */
  injectionScore: number;
  /** Share of screened records that may read as instructions (the detector has false positives, ~0.2% on XSTest). */
  injectedRate: number;
  /** Drift against the baseline: PSI, and KS p-value with a minimum effect D. */
  psiMax: number;
  ksPValue: number;
  ksMinD: number;
}

export const DEFAULT_THRESHOLDS: ScreenThresholds = {
  exactDuplicateRate: 0.005,
  nearDuplicateRate: 0.01,
  nearDuplicateJaccard: 0.85,
  conflictingLabelRate: 0.005,
  labelChangesMax: 0,
  labelTvd: 0.05,
  outlierZ: 3.5,
  outlierRate: 0.05,
  triggerPurity: 0.95,
  triggerMinSupport: 3,
  triggerLift: 3,
  triggerPValue: 1e-4,
  injectionScore: INJECTION_BLOCK_CUT,
  injectedRate: 0.005,
  psiMax: 0.2,
  ksPValue: 0.001,
  ksMinD: 0.1,
};

/** The range of each threshold: a share or a p-value in [0, 1], a count a non-negative integer, a z or a lift above 0. */
export const THRESHOLD_RANGES: Record<keyof ScreenThresholds, { minimum: number; maximum?: number; integer?: true; exclusiveMinimum?: true }> = {
  exactDuplicateRate: { minimum: 0, maximum: 1 },
  nearDuplicateRate: { minimum: 0, maximum: 1 },
  nearDuplicateJaccard: { minimum: 0, maximum: 1, exclusiveMinimum: true },
  conflictingLabelRate: { minimum: 0, maximum: 1 },
  labelChangesMax: { minimum: 0, integer: true },
  labelTvd: { minimum: 0, maximum: 1 },
  outlierZ: { minimum: 0, exclusiveMinimum: true },
  outlierRate: { minimum: 0, maximum: 1 },
  triggerPurity: { minimum: 0, maximum: 1, exclusiveMinimum: true },
  triggerMinSupport: { minimum: 1, integer: true },
  triggerLift: { minimum: 0, exclusiveMinimum: true },
  triggerPValue: { minimum: 0, maximum: 1, exclusiveMinimum: true },
  injectionScore: { minimum: 0, maximum: 1 },
  injectedRate: { minimum: 0, maximum: 1 },
  psiMax: { minimum: 0 },
  ksPValue: { minimum: 0, maximum: 1, exclusiveMinimum: true },
  ksMinD: { minimum: 0, maximum: 1 },
};

/** The JSON Schema of a thresholds object (any subset of the keys, each in its range): warden.yaml's `data.screen.thresholds`. */
export function thresholdsSchema(): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(Object.entries(THRESHOLD_RANGES).map(([k, r]) => [k, {
      type: r.integer ? 'integer' : 'number',
      ...(r.exclusiveMinimum ? { exclusiveMinimum: r.minimum } : { minimum: r.minimum }),
      ...(r.maximum !== undefined ? { maximum: r.maximum } : {}),
    }])),
  };
}

/** The thresholds a file or flag gives, checked against the same ranges; the first problem, named, or the thresholds. */
export function parseThresholds(v: unknown, where: string): Partial<ScreenThresholds> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where} must be an object of thresholds`);
  const out: Partial<ScreenThresholds> = {};
  for (const [k, x] of Object.entries(v)) {
    const r = (THRESHOLD_RANGES as Record<string, (typeof THRESHOLD_RANGES)[keyof ScreenThresholds] | undefined>)[k];
    if (!r) throw new Error(`${where}: unknown threshold ${JSON.stringify(k)}; known: ${Object.keys(THRESHOLD_RANGES).join(', ')}`);
    const range = `${r.integer ? 'an integer' : 'a number'} ${r.exclusiveMinimum ? '>' : '>='} ${r.minimum}${r.maximum !== undefined ? ` and <= ${r.maximum}` : ''}`;
    const ok = typeof x === 'number' && Number.isFinite(x) && (r.integer ? Number.isInteger(x) : true) && (r.exclusiveMinimum ? x > r.minimum : x >= r.minimum) && (r.maximum === undefined || x <= r.maximum);
    if (!ok) throw new Error(`${where}.${k} must be ${range}, not ${JSON.stringify(x)}`);
    out[k as keyof ScreenThresholds] = x as number;
  }
  return out;
}
