// IPv4 dotted quads (RFC 791 text form) and IPv6 addresses (RFC 4291 §2.2 text forms; candidates are
// confirmed by node:net isIPv6 rather than by a hand-written grammar).
import { isIPv6 } from 'node:net';
import type { Finding } from '../../core/types.js';

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`(?<![\\w.])${OCTET}(?:\\.${OCTET}){3}(?!\\w|\\.\\d)`, 'g');
// Colon-separated hex groups; separators are fixed so there is one way to split.
const IPV6 = /(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?![\w:])/g;

/** Words right before a dotted quad that make it a version number, not an address. */
const VERSION_CUE = /(?:\b(?:versions?|ver|release[sd]?|rel|build|firmware|kernel|patch|update|upgrade[sd]?|python|node(?:\.js)?|java|jdk|ruby|php|perl|golang|rust|windows|android|ios|macos|chrome|firefox|sdk|library|package|npm|pip|gem)\b[ \t]*[:=]?[ \t]*v?|(?<![\w.])v)$/i;

export function findIpAddresses(text: string, out: Finding[]): void {
  IPV4.lastIndex = 0;
  for (let m = IPV4.exec(text); m !== null; m = IPV4.exec(text)) {
    // Version strings ("Python 3.10.2.1", "v1.2.3.4") look the same; the word before is the only tell.
    if (VERSION_CUE.test(text.slice(Math.max(0, m.index - 24), m.index))) continue;
    out.push({ category: 'pii', type: 'ip_address', start: m.index, end: m.index + m[0].length, confidence: 0.8 });
  }
  if (text.indexOf(':') === -1) return;
  IPV6.lastIndex = 0;
  for (let m = IPV6.exec(text); m !== null; m = IPV6.exec(text)) {
    // "::" and "::1" are the unspecified and loopback addresses, never anyone's; shorter than 6 is not reported.
    if (m[0].length < 6 || !isIPv6(m[0])) continue;
    out.push({ category: 'pii', type: 'ip_address', start: m.index, end: m.index + m[0].length, confidence: 0.85 });
  }
}
