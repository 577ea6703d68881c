// Global regex scans whose "must not follow a letter/digit" lookbehind is checked outside the regex.
// A pattern that opens with a lookbehind such as `(?<![\p{L}])` stops V8's irregexp from skipping
// quickly to the characters a match can start with, so it tries the whole pattern at every position
// (twice the cost on a 4 KB prompt). Scanning with the pattern minus that lookbehind, and refusing a
// match whose start follows an excluded character, finds exactly the same matches: the scan retries
// one code point further on after a refusal, as the engine itself would have done.

/** Calls `onMatch` for every match of `pattern` (global, without the leading lookbehind) that does not
 *  start right after a character that `excludedBefore` (a sticky lookbehind, e.g. /(?<=\p{L})/uy)
 *  accepts. Matches are the ones `(?<!…)pattern` would find, in order. */
export function scanWithLeftBoundary(
  text: string,
  pattern: RegExp,
  excludedBefore: RegExp,
  onMatch: (m: RegExpExecArray) => void,
): void {
  if (!pattern.global || !excludedBefore.sticky) throw new TypeError('scanWithLeftBoundary needs a global pattern and a sticky lookbehind');
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    excludedBefore.lastIndex = m.index;
    if (m.index > 0 && excludedBefore.test(text)) {
      // Step one code point, as AdvanceStringIndex does in a /u scan (ECMA-262 §22.2.7.3).
      pattern.lastIndex = m.index + (pattern.unicode && text.codePointAt(m.index)! > 0xffff ? 2 : 1);
      continue;
    }
    onMatch(m);
  }
}
