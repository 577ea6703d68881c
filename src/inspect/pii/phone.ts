// Telephone numbers in international and national written forms (ITU-T E.123 / E.164: at most 15
// digits). Digit groups must be separated, or prefixed with '+', so that ordinary numbers in prose
// ("1999 2000") are not taken for phones unless the text says "phone"/"tel" right before.
import type { Finding } from '../../core/types.js';

// Groups are separated by exactly one separator, so a run of digits has a single way to split.
const PHONE =
  /(?<![\w+./-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,5}){1,5}(?:[ ]?(?:x|ext\.?)[ ]?\d{1,5})?(?![\w/]|[.-]\d)|(?<![\w+])\+\d{7,15}(?!\w)/g;
const PHONE_CUE = /\b(?:phone|tel|telephone|mobile|cell|call|fax|whatsapp|telefon|handy)\b[^\n\d]{0,12}$/i;
const DATE_SHAPED = /^\d{1,4}([-/.])\d{1,2}\1\d{1,4}$/;
const DOTTED_QUAD = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export function findPhones(text: string, out: Finding[]): void {
  PHONE.lastIndex = 0;
  for (let m = PHONE.exec(text); m !== null; m = PHONE.exec(text)) {
    const raw = m[0];
    const core = raw.replace(/[ ]?(?:x|ext\.?)[ ]?\d{1,5}$/, '');
    let digits = 0;
    for (let i = 0; i < core.length; i++) {
      const c = core.charCodeAt(i);
      if (c >= 48 && c <= 57) digits++;
    }
    if (digits < 7 || digits > 15) continue;
    if (DATE_SHAPED.test(core) || DOTTED_QUAD.test(core)) continue;
    const strong = raw.charCodeAt(0) === 43 || raw.includes('(') || /[.-]/.test(core) || core.split(' ').length >= 3;
    const cued = PHONE_CUE.test(text.slice(Math.max(0, m.index - 32), m.index));
    if (!strong && !cued) continue;
    out.push({ category: 'pii', type: 'phone', start: m.index, end: m.index + raw.length, confidence: cued ? 0.85 : strong && raw.charCodeAt(0) === 43 ? 0.8 : 0.6 });
  }
}
