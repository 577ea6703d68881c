// What the training script and the evaluation share with inference: the exact feature extraction, and
// the fixed split. Sets A and B carry their upstream train/test split; the extra attack pool and the
// benign pool have none, so each row is assigned by the first byte of SHA-256(id): even → train.
import { createHash } from 'node:crypto';
import { hashFeatures, l2Normalizer, sumOfSquares } from './features.js';
import { SIGNAL_NAMES, scanSignals } from './signals.js';

export interface LabelledRow {
  id: string;
  text: string;
  label: 0 | 1;
  split?: string;
  source?: string;
}

export function isTrainingRow(row: LabelledRow): boolean {
  if (row.split !== undefined) return row.split === 'train';
  return (createHash('sha256').update(row.id).digest()[0]! & 1) === 0;
}

/** A fifth of the training rows (second byte of SHA-256(id) ≡ 0 mod 5) is kept out of fitting: the block and flag
 *  cuts are chosen on it (scripts/calibrate-injection.mjs), never on the test splits or the held-out set. */
export function isCalibrationRow(row: LabelledRow): boolean {
  return isTrainingRow(row) && createHash('sha256').update(row.id).digest()[1]! % 5 === 0;
}

export interface SparseExample {
  /** Hashed bucket → count. */
  counts: Map<number, number>;
  /** Number of hashed features emitted. */
  n: number;
  /** The L2 normalizer of the counts (features.ts l2Normalizer), as inference applies it. */
  norm: number;
  /** Indices into SIGNAL_NAMES of the signals that fired. */
  signals: number[];
}

export function extractExample(text: string): SparseExample {
  const { skeleton, hits } = scanSignals(text);
  const counts = new Map<number, number>();
  const n = hashFeatures(skeleton.text, { add: (i) => void counts.set(i, (counts.get(i) ?? 0) + 1) });
  const signals = [...new Set(hits.map((h) => SIGNAL_NAMES.indexOf(h.signal)))];
  return { counts, n, norm: l2Normalizer(sumOfSquares(counts)), signals };
}
