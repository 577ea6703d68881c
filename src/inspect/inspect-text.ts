// The hot-path entry point: PII, secrets, injection and classification of one text, synchronously.
import type { Classification, Findings } from '../core/types.js';
import { DEFAULT_SCHEME, type ClassificationScheme } from './classification.js';
import { detectSensitive } from './detect-sensitive.js';
import { detectInjection } from './injection/detector.js';

export interface InspectOptions {
  /** Label asserted by the caller; it can only raise the classification. */
  assertedLabel?: Classification;
  /** Level of the dataset or tenant the request refers to. */
  contextLevel?: Classification;
  /** The configured levels (warden.yaml `classification`); the four built-in levels without it. */
  scheme?: ClassificationScheme;
}

export function inspectText(text: string, opts: InspectOptions = {}): Findings {
  const sensitive = detectSensitive(text);
  const injection = detectInjection(text);
  return {
    items: sensitive.concat(injection.findings),
    classification: (opts.scheme ?? DEFAULT_SCHEME).classify(sensitive, opts),
    injectionScore: injection.score,
    injectionSignals: injection.signals,
  };
}
