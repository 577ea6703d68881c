// Detectors run on the text as sent AND on its normalized view (fold.ts) when that differs, so that
// obfuscation (a key split by U+200B, fullwidth letters) hides nothing. Findings from the view are mapped
// back: every offset this file returns indexes the text as sent.
import type { Finding } from '../../core/types.js';
import { detectSensitive, resolveOverlaps } from '../detect-sensitive.js';
import { detectInjection } from '../injection/detector.js';
import { foldText, originEnd, type Folded } from './fold.js';

function mapBack(f: Finding, view: Folded, text: string): Finding {
  const start = view.origins[f.start] ?? text.length;
  const end = f.end > f.start ? originEnd(text, view.origins[f.end - 1]!) : start;
  return { ...f, start, end };
}

/** PII and secret findings in `text` or in its normalized view, non-overlapping, ordered by start. */
export function detectSensitiveFolded(text: string): Finding[] {
  const raw = detectSensitive(text);
  const view = foldText(text);
  if (view === null) return raw;
  const seen = detectSensitive(view.text).map((f) => mapBack(f, view, text));
  if (seen.length === 0) return raw;
  // Identical spans collapse in resolveOverlaps; a wider or more specific finding from the view wins.
  return resolveOverlaps([...raw, ...seen]);
}

export interface InjectionView {
  score: number;
  signals: string[];
  findings: Finding[];
}

/** Injection score of the text and of its normalized view (the higher counts), signals and findings of both. */
export function detectInjectionFolded(text: string): InjectionView {
  const raw = detectInjection(text);
  const view = foldText(text);
  if (view === null) return { score: raw.score, signals: raw.signals, findings: raw.findings };
  const folded = detectInjection(view.text);
  const signals = [...new Set([...raw.signals, ...folded.signals])];
  const findings = [...raw.findings];
  const key = (f: Finding) => `${f.type}:${f.start}:${f.end}`;
  const have = new Set(findings.map(key));
  for (const f of folded.findings.map((x) => mapBack(x, view, text))) {
    if (!have.has(key(f))) {
      have.add(key(f));
      findings.push(f);
    }
  }
  return { score: Math.max(raw.score, folded.score), signals, findings };
}
