// US Social Security numbers with the SSA validity rules (SSA POMS RM 10201.035 and the 2011
// randomization notice): area 000, 666 and 900–999, group 00 and serial 0000 are never issued.
import type { Finding } from '../../core/types.js';

const SSN_DASHED = /(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w-])/g;
const SSN_BARE = /(?<![\w-])(\d{3})(\d{2})(\d{4})(?![\w-])/g;
// A bare nine-digit number is an SSN only when the text says so just before it.
const SSN_CUE = /\b(?:ssn|social security(?: number| no\.?)?|sozialversicherungsnummer)\b[^\n\d]{0,20}$/i;
// Numbers published as examples or widely misused (SSA: 078-05-1120 from the 1938 wallet insert).
const KNOWN_INVALID = new Set(['078051120', '219099999', '123456789']);

export function ssnValid(area: string, group: string, serial: string): boolean {
  if (area === '000' || area === '666' || area.charCodeAt(0) === 57) return false;
  if (group === '00' || serial === '0000') return false;
  return !KNOWN_INVALID.has(area + group + serial);
}

export function findUsSsns(text: string, out: Finding[]): void {
  SSN_DASHED.lastIndex = 0;
  for (let m = SSN_DASHED.exec(text); m !== null; m = SSN_DASHED.exec(text)) {
    if (!ssnValid(m[1]!, m[3]!, m[4]!)) continue;
    out.push({ category: 'pii', type: 'us_ssn', start: m.index, end: m.index + m[0].length, confidence: m[2] === '-' ? 0.85 : 0.6 });
  }
  SSN_BARE.lastIndex = 0;
  for (let m = SSN_BARE.exec(text); m !== null; m = SSN_BARE.exec(text)) {
    if (!ssnValid(m[1]!, m[2]!, m[3]!)) continue;
    if (!SSN_CUE.test(text.slice(Math.max(0, m.index - 48), m.index))) continue;
    out.push({ category: 'pii', type: 'us_ssn', start: m.index, end: m.index + m[0].length, confidence: 0.7 });
  }
}
