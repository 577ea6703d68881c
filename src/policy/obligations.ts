// Obligations ride on permits as Cedar annotations: `@obligation("redact:pii")`, and for more than
// one on a policy `@obligation_2("max_tokens:512")` (Cedar forbids repeating an annotation key).
// The gateway must enforce every obligation of an allow; one it does not understand is a denial,
// so the vocabulary is closed and checked when a policy set loads.
import { Forbidden } from '../core/errors.js';
import type { Obligation } from '../core/types.js';
import { ObligationUnknown } from './errors.js';
import type { LogprobHardening } from '../monitor/harden.js';

export type ParsedObligation =
  | { kind: 'redact'; what: 'pii' | 'secrets' }
  | { kind: 'approval' }
  | { kind: 'spotlight' }
  | { kind: 'max_tokens'; limit: number }
  | { kind: 'route'; key: 'tier' | 'region'; value: string }
  /** The request is allowed and marked for review: its ledger entry and a metric carry the label. */
  | { kind: 'flag'; label: string }
  /** Output hardening against extraction (src/monitor/harden.ts). */
  | { kind: 'harden'; what: 'logprobs'; hardening: LogprobHardening }
  | { kind: 'harden'; what: 'embeddings'; sigma: number };

/** The obligation forms Warden's gateway enforces. `<n>` is a positive integer, `<v>` a [a-z0-9_-] word. */
export const KNOWN_OBLIGATIONS: readonly string[] = Object.freeze([
  'redact:pii',
  'redact:secrets',
  'approval',
  'spotlight',
  'max_tokens:<n>',
  'route:tier=<v>',
  'route:region=<v>',
  'flag:<v>',
  'harden:logprobs',
  'harden:logprobs=round',
  'harden:logprobs=strip',
  'harden:logprobs=noise:<eps>',
  'harden:embeddings',
  'harden:embeddings=<sigma>',
]);

const MAX_TOKENS = /^max_tokens:([1-9]\d{0,8})$/;
const ROUTE = /^route:(tier|region)=([a-z0-9][a-z0-9_-]{0,62})$/;
const FLAG = /^flag:([a-z0-9][a-z0-9_-]{0,62})$/;
// ε in (0, 100], σ in (0, 1]: decimals, at most three places.
const HARDEN_NOISE = /^harden:logprobs=noise:((?:[1-9]\d?|100|0)(?:\.\d{1,3})?)$/;
const HARDEN_EMBEDDINGS = /^harden:embeddings=((?:0|1)(?:\.\d{1,3})?)$/;

/** Parses one obligation; throws ObligationUnknown for anything outside KNOWN_OBLIGATIONS. */
export function parseObligation(text: Obligation, where = 'obligation'): ParsedObligation {
  if (text === 'redact:pii') return { kind: 'redact', what: 'pii' };
  if (text === 'redact:secrets') return { kind: 'redact', what: 'secrets' };
  if (text === 'approval') return { kind: 'approval' };
  if (text === 'spotlight') return { kind: 'spotlight' };
  const mt = MAX_TOKENS.exec(text);
  if (mt) return { kind: 'max_tokens', limit: Number(mt[1]) };
  const rt = ROUTE.exec(text);
  if (rt) return { kind: 'route', key: rt[1] as 'tier' | 'region', value: rt[2]! };
  const fl = FLAG.exec(text);
  if (fl) return { kind: 'flag', label: fl[1]! };
  if (text === 'harden:logprobs' || text === 'harden:logprobs=round') return { kind: 'harden', what: 'logprobs', hardening: { mode: 'round' } };
  if (text === 'harden:logprobs=strip') return { kind: 'harden', what: 'logprobs', hardening: { mode: 'strip' } };
  if (text === 'harden:embeddings') return { kind: 'harden', what: 'embeddings', sigma: 0.05 };
  const hn = HARDEN_NOISE.exec(text);
  if (hn && Number(hn[1]) > 0 && Number(hn[1]) <= 100) return { kind: 'harden', what: 'logprobs', hardening: { mode: 'noise', epsilon: Number(hn[1]) } };
  const he = HARDEN_EMBEDDINGS.exec(text);
  if (he && Number(he[1]) > 0 && Number(he[1]) <= 1) return { kind: 'harden', what: 'embeddings', sigma: Number(he[1]) };
  throw new ObligationUnknown(text, where);
}

const OBLIGATION_KEY = /^obligation(_[A-Za-z0-9_]+)?$/;

/** The obligations a policy's annotations carry, each checked against the vocabulary. */
export function obligationsFromAnnotations(annotations: Record<string, string>, policyId: string): Obligation[] {
  const out: Obligation[] = [];
  for (const [k, v] of Object.entries(annotations)) {
    if (!OBLIGATION_KEY.test(k)) continue;
    parseObligation(v, `policy ${policyId} @${k}`);
    out.push(v);
  }
  return out;
}

/**
 * For the gateway: every obligation of a decision, parsed. Throws ObligationUnknown on the first one
 * outside the vocabulary, which the gateway must turn into a denial (the PDP never emits one, but a
 * decision can also come from a cache or a remote PDP).
 */
export function parseDecisionObligations(obligations: readonly Obligation[]): ParsedObligation[] {
  return obligations.map((o) => parseObligation(o, 'decision'));
}

/**
 * The one parse every enforcement point uses (the gateway's policy stage, the tool mediator): a decision's
 * obligations as the typed union, or a 403 `unenforceable_obligation` (never an ignored duty).
 */
export function decisionDuties(obligations: readonly Obligation[]): ParsedObligation[] {
  try {
    return parseDecisionObligations(obligations);
  } catch {
    throw new Forbidden('unenforceable_obligation', 'the policy attached an obligation this gateway cannot enforce');
  }
}

/**
 * For an enforcement point that can honour no duty but a flag (an A2A call): the decision's `flag:<label>` labels,
 * or a 403 `unenforceable_obligation` for any other duty (never an ignored one).
 */
export function flagsOnly(obligations: readonly Obligation[], where: string): string[] {
  const flags: string[] = [];
  for (const o of decisionDuties(obligations)) {
    if (o.kind === 'flag') flags.push(o.label);
    else throw new Forbidden('unenforceable_obligation', `the policy attached an obligation ${where} cannot honour (${o.kind})`);
  }
  return flags;
}
