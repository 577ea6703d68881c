// Credentials whose format announces them. Each family is gated by its fixed prefix, and the prefixes
// are looked for only inside long unbroken runs, so that clean prose costs a skipping scan rather than
// a dozen regex passes (or even one).
import type { Finding } from '../../core/types.js';
import { asciiClass, longRuns } from '../long-runs.js';

interface TokenFormat {
  type: string;
  /** Literal substrings one of which every match contains; the regex runs only when one is present. */
  gate: string[];
  pattern: RegExp;
  confidence: number;
  /** Extra structural check beyond the regex (e.g. a JWT header that is real JSON). */
  check?: (match: string) => boolean;
}

function jwtHeaderIsJson(token: string): boolean {
  const header = token.slice(0, token.indexOf('.'));
  try {
    const parsed: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && typeof (parsed as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}

export const TOKEN_FORMATS: readonly TokenFormat[] = [
  // AWS access key ids: IAM user keys AKIA, STS temporary ASIA (AWS IAM "Unique identifiers" prefixes), 16 base32 chars.
  { type: 'aws_access_key', gate: ['AKIA', 'ASIA'], pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z2-7]{16}(?![A-Za-z0-9])/g, confidence: 0.95 },
  // AWS secret access keys only next to their name: 40 base64 chars are otherwise indistinguishable. The name
  // is read (lookbehind) but not reported: a finding is the secret alone, so a stream that has already sent
  // "aws_secret_access_key = " still redacts the value exactly as whole-text redaction does.
  {
    type: 'aws_secret_key',
    gate: ['aws_secret', 'AWS_SECRET', 'SecretAccessKey', 'secret_access_key'],
    pattern: /(?<=(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY|SecretAccessKey|aws_secret_key)["']?\s{0,3}[:=]\s{0,3}["']?)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])/g,
    confidence: 0.95,
  },
  // GitHub token formats (GitHub blog 2021-04 "authentication token format"): ghp_/gho_/ghu_/ghs_/ghr_ + 36, fine-grained github_pat_.
  { type: 'github_token', gate: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'], pattern: /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,251}(?![A-Za-z0-9_])/g, confidence: 0.95 },
  { type: 'github_token', gate: ['github_pat_'], pattern: /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,255}(?![A-Za-z0-9_])/g, confidence: 0.95 },
  // Slack tokens (xoxb bot, xoxp user, xoxa/xoxr/xoxs, xapp app-level) and incoming-webhook URLs.
  { type: 'slack_token', gate: ['xox', 'xapp-'], pattern: /(?<![A-Za-z0-9-])(?:xox[abposr]|xapp)-[0-9A-Za-z-]{10,250}(?![A-Za-z0-9-])/g, confidence: 0.9 },
  { type: 'slack_token', gate: ['hooks.slack.com'], pattern: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{6,12}\/B[A-Z0-9]{6,12}\/[A-Za-z0-9]{16,32}/g, confidence: 0.95 },
  // Stripe secret and restricted keys (publishable pk_ keys are public by design and not reported), webhook secrets.
  { type: 'stripe_key', gate: ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_', 'whsec_'], pattern: /(?<![A-Za-z0-9_])(?:(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,247}|whsec_[0-9A-Za-z]{24,64})(?![A-Za-z0-9_])/g, confidence: 0.95 },
  // JWS compact serialization (RFC 7515 §7.1) whose protected header is JSON with "alg" (RFC 7515 §4.1.1).
  { type: 'jwt', gate: ['eyJ'], pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,4096}\.[A-Za-z0-9_-]{2,16384}\.[A-Za-z0-9_-]{0,4096}(?![A-Za-z0-9_.-])/g, confidence: 0.9, check: jwtHeaderIsJson },
  // Warden's own API keys: `wdn_` + base64url.
  { type: 'warden_key', gate: ['wdn_'], pattern: /(?<![A-Za-z0-9_-])wdn_[A-Za-z0-9_-]{20,256}(?![A-Za-z0-9_-])/g, confidence: 0.99 },
  // Google API keys: "AIza" + 35 base64url characters (the form every Google Cloud API key has).
  { type: 'google_api_key', gate: ['AIza'], pattern: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g, confidence: 0.95 },
  // Google OAuth 2.0 access tokens.
  { type: 'google_oauth_token', gate: ['ya29.'], pattern: /(?<![A-Za-z0-9_.-])ya29\.[0-9A-Za-z_-]{30,2048}(?![A-Za-z0-9_-])/g, confidence: 0.9 },
  // npm access tokens (npm_ + 36 base62, the format since 2021), GitLab personal/project/group access tokens.
  { type: 'npm_token', gate: ['npm_'], pattern: /(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])/g, confidence: 0.95 },
  { type: 'gitlab_token', gate: ['glpat-'], pattern: /(?<![A-Za-z0-9_-])glpat-[0-9A-Za-z_-]{20,64}(?![A-Za-z0-9_-])/g, confidence: 0.95 },
  // Model-provider keys: OpenAI project/service/admin keys, Anthropic API and admin keys, Hugging Face tokens.
  { type: 'openai_key', gate: ['sk-proj-', 'sk-svcacct-', 'sk-admin-'], pattern: /(?<![A-Za-z0-9_-])sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,250}(?![A-Za-z0-9_-])/g, confidence: 0.95 },
  { type: 'anthropic_key', gate: ['sk-ant-'], pattern: /(?<![A-Za-z0-9_-])sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{40,250}(?![A-Za-z0-9_-])/g, confidence: 0.95 },
  { type: 'huggingface_token', gate: ['hf_'], pattern: /(?<![A-Za-z0-9_])hf_[A-Za-z]{34}(?![A-Za-z0-9_])/g, confidence: 0.9 },
];

/**
 * A documentation placeholder in a token's shape (`AKIAXXXXXXXXXXXXXXXX`, `sk_live_xxxxxxxx`, `ghp_****`):
 * a run of four or more x, X, *, # or 0, and such characters a quarter of the token or more. In a random
 * base64 token they are 5 of 64 symbols, so both at once essentially never happen to a real secret, while a
 * placeholder flagged as a leak teaches people to ignore the alarm.
 */
export function isPlaceholderToken(token: string): boolean {
  if (!/([xX*#0])\1{3}/.test(token)) return false;
  let filler = 0;
  for (const c of token) if (c === 'x' || c === 'X' || c === '*' || c === '#' || c === '0') filler++;
  return filler * 4 >= token.length;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// All gates in one alternation: one scan of a run instead of one indexOf per gate.
const GATES = [...new Set(TOKEN_FORMATS.flatMap((f) => f.gate))];
const ANY_GATE = new RegExp(GATES.map(escapeRegExp).join('|'), 'g');
/** Every match of every format has its gate inside a run of these characters at least TOKEN_RUN long
 *  (the shortest: a JWT, eyJ + 5 + '.' + 2 + '.'). Gates are made of these characters too, so none
 *  straddles a run's edge and scanning run by run finds the same gates as scanning the whole text. */
const TOKEN_CHARS = asciiClass(/[A-Za-z0-9_.-]/);
const TOKEN_RUN = 12;

function gatesPresent(text: string): Set<string> {
  const present = new Set<string>();
  const runs = longRuns(text, TOKEN_CHARS, TOKEN_RUN);
  for (let r = 0; r < runs.length; r += 2) {
    // A slice of a long run is a cheap view; the gates are plain literals, so no context is lost.
    const run = text.slice(runs[r], runs[r + 1]);
    ANY_GATE.lastIndex = 0;
    for (let m = ANY_GATE.exec(run); m !== null; m = ANY_GATE.exec(run)) present.add(m[0]);
  }
  return present;
}

export function findFormattedTokens(text: string, out: Finding[]): void {
  const present = gatesPresent(text);
  if (present.size === 0) return;
  for (const f of TOKEN_FORMATS) {
    if (!f.gate.some((g) => present.has(g))) continue;
    f.pattern.lastIndex = 0;
    for (let m = f.pattern.exec(text); m !== null; m = f.pattern.exec(text)) {
      if ((f.check !== undefined && !f.check(m[0])) || isPlaceholderToken(m[0])) continue;
      out.push({ category: 'secret', type: f.type, start: m.index, end: m.index + m[0].length, confidence: f.confidence });
    }
  }
}
