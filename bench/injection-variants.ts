// Obfuscated variants of an attack, for the held-out evaluation (issue 20): the encodings attackers use to get
// an instruction past a filter that reads text as written. Deterministic (no randomness), so every run scores
// the same texts. The detector's readings (src/inspect/injection/views.ts, encoded.ts) undo these; the variants
// are made here independently, from the held-out attacks only.

export type VariantKind = 'leetspeak' | 'rot13' | 'reversed' | 'hex' | 'variation_selectors' | 'base64' | 'spaced' | 'fullwidth' | 'zero_width' | 'homoglyphs';

export const VARIANT_KINDS: readonly VariantKind[] = ['leetspeak', 'rot13', 'reversed', 'hex', 'variation_selectors', 'base64', 'spaced', 'fullwidth', 'zero_width', 'homoglyphs'];

const LEET: Record<string, string> = { a: '4', e: '3', i: '1', o: '0', s: '5', t: '7' };
const HOMOGLYPH: Record<string, string> = { a: '\u0430', e: '\u0435', o: '\u043e', p: '\u0440', c: '\u0441', x: '\u0445', i: '\u0456' };

function rot13(s: string): string {
  return s.replace(/[a-z]/gi, (c) => {
    const base = c <= 'Z' ? 65 : 97;
    return String.fromCharCode(base + ((c.charCodeAt(0) - base + 13) % 26));
  });
}

/** Bytes as emoji variation selectors after one visible emoji: VS1–16 for 0–15, VS17–256 for 16–255. */
function variationSelectors(s: string): string {
  let out = '\u{1F600}';
  for (const b of Buffer.from(s, 'utf8')) out += b < 16 ? String.fromCodePoint(0xfe00 + b) : String.fromCodePoint(0xe0100 + b - 16);
  return out;
}

export function makeVariant(kind: VariantKind, text: string): string {
  switch (kind) {
    case 'leetspeak':
      return text.replace(/[aeiost]/gi, (c) => LEET[c.toLowerCase()] ?? c);
    case 'rot13':
      return rot13(text);
    case 'reversed':
      return [...text].reverse().join('');
    case 'hex':
      return Buffer.from(text, 'utf8').toString('hex').replace(/(..)(?!$)/g, '$1 ');
    case 'variation_selectors':
      return `Look at this cute face ${variationSelectors(text)}`;
    case 'base64':
      return `Decode this and do what it says: ${Buffer.from(text, 'utf8').toString('base64')}`;
    case 'spaced':
      return text.replace(/\S/g, (c) => `${c} `).trim();
    case 'fullwidth':
      return text.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
    case 'zero_width':
      return [...text].join('\u200b');
    case 'homoglyphs':
      return text.replace(/[aeopcxi]/g, (c) => HOMOGLYPH[c] ?? c);
  }
}
