// Redaction of PII and secrets in text the model wrote (or a caller sent), as a policy obligation
// (`redact:pii`, `redact:secret`, `redact:email`). Each finding becomes `[REDACTED:<type>]`.
import type { Finding } from '../../core/types.js';
import { detectSensitiveFolded } from '../surface/detect.js';

/** A finding category (`pii`, `secret`) or a single finding type (`email`, `credit_card`). */
export type RedactTarget = string;

export function redactionMarker(type: string): string {
  return `[REDACTED:${type}]`;
}

export function selectsFinding(targets: readonly RedactTarget[], f: Finding): boolean {
  return targets.includes(f.category) || targets.includes(f.type);
}

/** Replaces the selected findings (non-overlapping, ordered) inside text[from, to). */
export function applyRedactions(text: string, findings: readonly Finding[], from = 0, to = text.length): string {
  let out = '';
  let pos = from;
  for (const f of findings) {
    if (f.start < pos || f.end > to) continue;
    out += text.slice(pos, f.start) + redactionMarker(f.type);
    pos = f.end;
  }
  return out + text.slice(pos, to);
}

/** Findings to redact, read on the text and on its normalized view (a key split by U+200B is redacted whole). */
export function findRedactable(text: string, targets: readonly RedactTarget[]): Finding[] {
  return detectSensitiveFolded(text).filter((f) => selectsFinding(targets, f));
}

export function redact(text: string, targets: readonly RedactTarget[]): string {
  if (targets.length === 0) return text;
  return applyRedactions(text, findRedactable(text, targets));
}
