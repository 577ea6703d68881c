// Evidence timestamps: too old is stale, from the future is refused too (a clock far ahead on the
// attesting side would otherwise stretch the evidence's useful life).
import { AttestationConfigurationInvalid, AttestationStale } from './errors.js';

export const DEFAULT_CLOCK_SKEW_MS = 60_000;

export function assertFresh(issuedAt: number, opts: { now: number; maxAgeMs: number; clockSkewMs?: number }, what: string): void {
  if (!Number.isFinite(opts.maxAgeMs) || opts.maxAgeMs <= 0) throw new AttestationConfigurationInvalid(`${what}: maxAgeMs must be a positive number`);
  const skew = opts.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  if (issuedAt > opts.now + skew) throw new AttestationStale(`${what}: evidence is dated ${new Date(issuedAt).toISOString()}, in the future`);
  const age = opts.now - issuedAt;
  if (age > opts.maxAgeMs) throw new AttestationStale(`${what}: evidence is ${age} ms old, more than the allowed ${opts.maxAgeMs} ms`);
}
