// Maximal runs of characters from a small ASCII class that are at least `minLength` long, found
// without reading every character: such a run must cover one of the probe positions `minLength`
// apart, so only the runs under a probe are walked (Boyer–Moore-style skipping). Prose made of short
// words is read at about one character in four. Used to find base64 payloads and formatted tokens,
// which are long unbroken runs, without a regex pass over the whole text.

/** Membership table over the 128 ASCII code units (non-zero = member); other characters never are. */
export type AsciiClass = Uint8Array;

export function asciiClass(member: RegExp): AsciiClass {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) if (member.test(String.fromCharCode(c))) table[c] = 1;
  return table;
}

function isMember(table: AsciiClass, text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c < 128 && table[c] !== 0;
}

/** Start/end pairs (end exclusive, flattened) of the maximal runs of members at least `minLength` long, in order. */
export function longRuns(text: string, table: AsciiClass, minLength: number): number[] {
  if (!Number.isInteger(minLength) || minLength < 1) throw new RangeError('longRuns: minLength must be a positive integer');
  const runs: number[] = [];
  const len = text.length;
  let probe = minLength - 1;
  while (probe < len) {
    if (!isMember(table, text, probe)) {
      probe += minLength;
      continue;
    }
    let start = probe;
    while (start > 0 && isMember(table, text, start - 1)) start--;
    let end = probe + 1;
    while (end < len && isMember(table, text, end)) end++;
    if (end - start >= minLength) runs.push(start, end);
    // text[end] is not a member: the next run starts after it and needs minLength characters.
    probe = end + minLength;
  }
  return runs;
}
