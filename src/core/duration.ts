import { BadRequest } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500ms`, `30s`, `5m`, `24h`, `7d` into milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new BadRequest('invalid_duration', `${what}: expected a duration like 30s, 5m, 24h or 7d, got ${JSON.stringify(text)}`);
  return Number(m[1]) * UNITS[m[2]!]!;
}
