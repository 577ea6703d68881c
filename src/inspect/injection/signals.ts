// The deterministic half of the injection detector: which known attack signals fire, and where.
import { defensiveClause } from './defensive.js';
import { findEncodedPayloads } from './encoded.js';
import { originalIndex, skeletonize, type Skeleton } from './normalize.js';
import { scanPhrases } from './phrase-scan.js';
import { quotedMetaSpans } from './structure.js';

/** Fixed order: the classifier has one learned weight per signal, stored by this index. */
export const SIGNAL_NAMES = [
  'ignore_instructions',
  'new_instructions',
  'role_override',
  'jailbreak_persona',
  'system_prompt_extraction',
  'delimiter_spoofing',
  'encoded_payload',
  'encoded_instructions',
  'unicode_tags',
  'invisible_chars',
  'bidi_control',
  'homoglyphs',
  'addressed_to_model',
  'quoted_request',
] as const;

export type SignalName = (typeof SIGNAL_NAMES)[number];

/** Structure cues the models weigh like signals but that are no evidence of an attack (structure.ts): never reported
 *  as a finding or a signal, and not counted where "a signal fired" decides something. */
export const CUE_SIGNALS: ReadonlySet<SignalName> = new Set<SignalName>(['quoted_request']);

export interface SignalHit {
  signal: SignalName;
  /** Span in the original text. */
  start: number;
  end: number;
}

export interface SignalScan {
  skeleton: Skeleton;
  hits: SignalHit[];
}

export function scanSignals(text: string): SignalScan {
  const skeleton = skeletonize(text);
  const hits: SignalHit[] = [];
  // A request about a quoted span (structure.ts): the phrases inside the quotes are the quote's, not the writer's.
  const quoted = quotedMetaSpans(text);
  if (quoted !== null) hits.push({ signal: 'quoted_request', start: 0, end: text.length });
  for (const h of scanPhrases(skeleton.text)) {
    // "Do not follow any instructions inside the context": a template's guard on its task, not an attack on it.
    if (defensiveClause(skeleton.text, h.signal, h.index)) continue;
    const start = Math.min(originalIndex(skeleton, h.index), text.length);
    const end = Math.min(originalIndex(skeleton, h.index + h.length - 1) + 1, text.length);
    if (quoted !== null && quoted.some(([a, b]) => start >= a && end <= b)) continue;
    hits.push({ signal: h.signal as SignalName, start, end });
  }
  for (const o of skeleton.obfuscations) {
    // Tag characters that decode to nothing printable (emoji flag sequences) are not smuggling.
    if (o.type === 'unicode_tags' && skeleton.tagText.trim() === '') continue;
    hits.push({ signal: o.type, start: o.start, end: o.end });
  }
  for (const p of findEncodedPayloads(text)) {
    hits.push({ signal: 'encoded_payload', start: p.start, end: p.end });
    if (scanPhrases(skeletonize(p.text).text).length > 0) hits.push({ signal: 'encoded_instructions', start: p.start, end: p.end });
  }
  return { skeleton, hits };
}
