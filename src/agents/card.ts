// A2A agent cards: fetched at registration (and re-checked before calls), verified (it describes the registered
// endpoint, lists its skills, its descriptions are not instructions to a model, its JWS signature verifies
// against the configured keys), pinned by digest, and served to callers rewritten to point through Warden.
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { AGENT_CARD_PATH, verifyAgentCardSignature } from '@a2a-js/sdk';
import { canonicalJson } from '../core/canonical-json.js';
import { sha256Digest } from '../core/digest.js';
import type { ToolInspector } from '../tools/mediator.js';
import { descriptionInjection } from '../tools/pins.js';
import { AgentCardInvalid } from './errors.js';

export { AGENT_CARD_PATH };

export interface CardSkill {
  id: string;
  name: string;
  description: string;
  tags: string[];
}

/** Where a card is published for an endpoint: its origin's well-known path (A2A §8.2). */
export function defaultCardUrl(endpoint: string): string {
  return new URL(`/${AGENT_CARD_PATH}`, endpoint).href;
}

function normalUrl(u: string): string {
  try {
    const x = new URL(u);
    return x.origin + x.pathname.replace(/\/+$/, '') + x.search;
  } catch {
    return u;
  }
}

/** Every endpoint a card names: v1.0 supportedInterfaces[].url, v0.3 url and additionalInterfaces[].url. */
export function cardUrls(card: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (typeof card.url === 'string') out.push(card.url);
  for (const k of ['supportedInterfaces', 'additionalInterfaces']) {
    const list = card[k];
    if (Array.isArray(list)) for (const i of list) if (i && typeof (i as { url?: unknown }).url === 'string') out.push((i as { url: string }).url);
  }
  return out;
}

export function cardSkills(card: Record<string, unknown>): CardSkill[] {
  const skills = card.skills;
  if (!Array.isArray(skills)) return [];
  return skills.map((s) => {
    const x = (s ?? {}) as Record<string, unknown>;
    return {
      id: typeof x.id === 'string' ? x.id : '',
      name: typeof x.name === 'string' ? x.name : '',
      description: typeof x.description === 'string' ? x.description : '',
      tags: Array.isArray(x.tags) ? x.tags.filter((t): t is string => typeof t === 'string') : [],
    };
  });
}

export function cardDigest(card: Record<string, unknown>): string {
  return sha256Digest(canonicalJson(card));
}

/** Reads a card's JSON from `fetchImpl` (the egress guard's fetch: destination checked, size capped). */
export async function fetchCard(fetchImpl: (u: string, init?: RequestInit) => Promise<Response>, cardUrl: string): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetchImpl(cardUrl, { method: 'GET', headers: { accept: 'application/json' } });
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new AgentCardInvalid('a2a_card_unavailable', `the agent card at ${cardUrl} could not be fetched${code ? ` (${code})` : ''}`);
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    throw new AgentCardInvalid('a2a_card_unavailable', `the agent card at ${cardUrl} answered ${res.status}`);
  }
  let v: unknown;
  try {
    v = await res.json();
  } catch {
    throw new AgentCardInvalid('a2a_card_invalid', `the agent card at ${cardUrl} is not JSON`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new AgentCardInvalid('a2a_card_invalid', 'an agent card is a JSON object');
  return v as Record<string, unknown>;
}

/**
 * Refuses a card that does not describe `endpoint`, lists no (or unnamed, or repeated) skills, carries a
 * description that reads as instructions to a model, or (with `keys`) has no signature those keys verify.
 */
export async function verifyCard(card: Record<string, unknown>, endpoint: string, keys: { keys: Record<string, unknown>[] } | null, inspector: Pick<ToolInspector, 'inspect'>): Promise<CardSkill[]> {
  if (typeof card.name !== 'string' || card.name === '') throw new AgentCardInvalid('a2a_card_invalid', 'the agent card has no name');
  const urls = cardUrls(card).map(normalUrl);
  if (!urls.includes(normalUrl(endpoint))) {
    throw new AgentCardInvalid('a2a_card_url_mismatch', `the agent card names ${urls.length ? urls.join(', ') : 'no endpoint'}, not the registered ${endpoint}`);
  }
  const skills = cardSkills(card);
  if (skills.length === 0) throw new AgentCardInvalid('a2a_card_invalid', 'the agent card lists no skills');
  const ids = new Set<string>();
  for (const s of skills) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/.test(s.id)) throw new AgentCardInvalid('a2a_card_invalid', `the skill id ${JSON.stringify(s.id)} is not a plain identifier`);
    if (ids.has(s.id)) throw new AgentCardInvalid('a2a_card_invalid', `the skill id ${s.id} appears twice`);
    ids.add(s.id);
  }
  const texts: [string, string][] = [['description', typeof card.description === 'string' ? card.description : ''], ...skills.flatMap((s): [string, string][] => [[`skills/${s.id}/description`, s.description], ...s.tags.map((t): [string, string] => [`skills/${s.id}/tags`, t])])];
  for (const [field, text] of texts) {
    const f = text ? descriptionInjection(inspector, text) : null;
    if (f) throw new AgentCardInvalid('a2a_card_injection', `the card's ${field} reads as instructions to a model (injection score ${f.injectionScore.toFixed(2)}; ${f.injectionSignals.join(', ')})`);
  }
  if (keys) {
    const sigs = card.signatures;
    if (!Array.isArray(sigs) || sigs.length === 0) throw new AgentCardInvalid('a2a_card_signature_invalid', 'the agent is registered with card keys, and its card is not signed');
    const jwks = createLocalJWKSet(keys as unknown as JSONWebKeySet);
    const verify = verifyAgentCardSignature((kid) => jwks({ alg: 'ES256', kid }).catch(() => jwks({ alg: 'EdDSA', kid })).catch(() => jwks({ alg: 'RS256', kid })));
    try {
      await verify(card as never);
    } catch (e) {
      throw new AgentCardInvalid('a2a_card_signature_invalid', `no signature on the agent card verifies against the registered keys (${(e as Error).message})`);
    }
  }
  return skills;
}

/**
 * The card as a caller sees it through Warden: every endpoint points at `via` (Warden's /a2a/{id}), only the
 * JSON-RPC binding is offered (Warden relays that one), the agent's own security schemes are dropped (callers
 * authenticate to Warden, and Warden to the agent) and so are its signatures, which no longer cover it.
 */
export function rewriteCard(card: Record<string, unknown>, via: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...card };
  delete out.signatures;
  delete out.securitySchemes;
  delete out.securityRequirements;
  delete out.security;
  if (typeof out.url === 'string') out.url = via;
  if (Array.isArray(out.supportedInterfaces)) {
    const rpc = (out.supportedInterfaces as Record<string, unknown>[]).filter((i) => i && i.protocolBinding === 'JSONRPC');
    out.supportedInterfaces = rpc.map((i) => ({ ...i, url: via }));
  }
  if (Array.isArray(out.additionalInterfaces)) {
    out.additionalInterfaces = (out.additionalInterfaces as Record<string, unknown>[]).filter((i) => i && i.transport === 'JSONRPC').map((i) => ({ ...i, url: via }));
  }
  return out;
}
