// Parses an RFC 8693 §2.1 token-exchange request (application/x-www-form-urlencoded body).
// Models, actions and the tool are asked for in `scope` (RFC 8693 §2.1 / RFC 6749 §3.3, space-
// separated): `chat embed model:llama-3 tool:web-search`. `expires_in` (seconds) is a Warden
// extension mirroring the response field. Malformed requests get the RFC 8693 §2.2.2 codes.
import { BadRequest } from '../../core/errors.js';
import type { Action } from '../../core/types.js';
import type { ScopeRequest } from './scope.js';

export const GRANT_TYPE_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';

/** RFC 8693 §3 token type identifiers Warden can authenticate as a subject or actor. */
const INPUT_TOKEN_TYPES = [TOKEN_TYPE_JWT, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_ID_TOKEN] as const;
export type InputTokenType = (typeof INPUT_TOKEN_TYPES)[number];

const ACTIONS: readonly Action[] = [
  'chat', 'complete', 'embed', 'listModels', 'callTool', 'readDataset', 'writeDataset', 'train',
  'manageKeys', 'managePolicies', 'promoteModel', 'approve', 'readAudit', 'manageModels', 'manageTools', 'manageDatasets', 'readRegistry',
  'callAgent', 'manageAgents',
];

/** Parameters that may repeat (RFC 8693 §2.1); every other one MUST NOT (RFC 6749 §3.1). */
const REPEATABLE = new Set(['audience', 'resource']);
const MAX_BODY = 64 * 1024;

export interface TokenExchangeRequest {
  subjectToken: string;
  subjectTokenType: InputTokenType;
  actorToken?: string;
  actorTokenType?: InputTokenType;
  audience: string[];
  resource: string[];
  requested: ScopeRequest & { ttlSec?: number };
}

function invalid(message: string, field: string): BadRequest {
  return new BadRequest('invalid_request', message, field);
}

function tokenType(value: string | undefined, field: string): InputTokenType {
  if (value === undefined) throw invalid(`${field} is required`, field);
  if (!(INPUT_TOKEN_TYPES as readonly string[]).includes(value)) throw invalid(`${field} ${JSON.stringify(value)} is not supported`, field);
  return value as InputTokenType;
}

function parseScope(scope: string): ScopeRequest {
  const models: string[] = [];
  const actions: string[] = [];
  let tool: string | undefined;
  for (const item of scope.split(' ')) {
    if (item === '') throw invalid('scope must be single-space separated tokens', 'scope');
    if (item.startsWith('model:') && item.length > 6) models.push(item.slice(6));
    else if (item.startsWith('tool:') && item.length > 5) {
      if (tool !== undefined) throw new BadRequest('invalid_scope', 'at most one tool may be requested', 'scope');
      tool = item.slice(5);
    } else if ((ACTIONS as readonly string[]).includes(item)) actions.push(item);
    else throw new BadRequest('invalid_scope', `unknown scope value ${JSON.stringify(item)}`, 'scope');
  }
  return {
    ...(models.length ? { models } : {}),
    ...(actions.length ? { actions } : {}),
    ...(tool !== undefined ? { tool } : {}),
  };
}

export function parseTokenExchangeRequest(body: string | Uint8Array): TokenExchangeRequest {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  if (text.length > MAX_BODY) throw invalid('request body too large', 'body');
  const form = new URLSearchParams(text);
  const single = new Map<string, string>();
  const multi: Record<string, string[]> = { audience: [], resource: [] };
  for (const [k, v] of form) {
    if (REPEATABLE.has(k)) multi[k]!.push(v);
    else if (single.has(k)) throw invalid(`parameter ${k} is repeated`, k);
    else single.set(k, v);
  }
  const grantType = single.get('grant_type');
  if (grantType === undefined) throw invalid('grant_type is required', 'grant_type');
  if (grantType !== GRANT_TYPE_TOKEN_EXCHANGE) throw new BadRequest('unsupported_grant_type', `grant_type must be ${GRANT_TYPE_TOKEN_EXCHANGE}`, 'grant_type');
  const subjectToken = single.get('subject_token');
  if (!subjectToken) throw invalid('subject_token is required', 'subject_token');
  const subjectTokenType = tokenType(single.get('subject_token_type'), 'subject_token_type');
  const actorToken = single.get('actor_token');
  const actorTypeRaw = single.get('actor_token_type');
  // §2.1: actor_token_type is REQUIRED with actor_token and MUST NOT appear without it.
  if (actorToken === undefined && actorTypeRaw !== undefined) throw invalid('actor_token_type without actor_token', 'actor_token_type');
  if (actorToken === '') throw invalid('actor_token is empty', 'actor_token');
  const requestedType = single.get('requested_token_type');
  if (requestedType !== undefined && requestedType !== TOKEN_TYPE_JWT && requestedType !== TOKEN_TYPE_ACCESS_TOKEN) {
    throw invalid('Warden issues only JWT access tokens', 'requested_token_type');
  }
  for (const r of multi.resource!) {
    // §2.1: resource is an absolute URI without a fragment.
    let u: URL | undefined;
    try {
      u = new URL(r);
    } catch {
      u = undefined;
    }
    if (!u || u.hash !== '' || r.includes('#')) throw invalid('resource must be an absolute URI without a fragment', 'resource');
  }
  const requested: TokenExchangeRequest['requested'] = single.has('scope') ? parseScope(single.get('scope')!) : {};
  const ttl = single.get('expires_in');
  if (ttl !== undefined) {
    if (!/^[1-9][0-9]{0,6}$/.test(ttl)) throw invalid('expires_in must be a positive integer number of seconds', 'expires_in');
    requested.ttlSec = Number(ttl);
  }
  return {
    subjectToken,
    subjectTokenType,
    ...(actorToken !== undefined ? { actorToken, actorTokenType: tokenType(actorTypeRaw, 'actor_token_type') } : {}),
    audience: multi.audience!,
    resource: multi.resource!,
    requested,
  };
}
