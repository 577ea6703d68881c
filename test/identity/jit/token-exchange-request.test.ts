import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadRequest } from '../../../src/core/errors.js';
import { parseTokenExchangeRequest } from '../../../src/identity/jit/token-exchange-request.js';

const GT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';

function form(params: [string, string][]): string {
  return new URLSearchParams(params).toString();
}
const base: [string, string][] = [['grant_type', GT], ['subject_token', 'wdn_user_key'], ['subject_token_type', AT]];

test('parses a delegation request with scope narrowing (RFC 8693 §2.1)', () => {
  const r = parseTokenExchangeRequest(Buffer.from(form([
    ...base,
    ['actor_token', 'eyJ.agent.jwt'], ['actor_token_type', JWT],
    ['audience', 'https://warden.acme.example'], ['audience', 'https://other'],
    ['resource', 'https://warden.acme.example/v1'],
    ['scope', 'chat callTool model:llama-3 model:mistral-7b tool:web-search'],
    ['requested_token_type', JWT], ['expires_in', '600'],
  ])));
  assert.deepEqual(r, {
    subjectToken: 'wdn_user_key', subjectTokenType: AT,
    actorToken: 'eyJ.agent.jwt', actorTokenType: JWT,
    audience: ['https://warden.acme.example', 'https://other'],
    resource: ['https://warden.acme.example/v1'],
    requested: { models: ['llama-3', 'mistral-7b'], actions: ['chat', 'callTool'], tool: 'web-search', ttlSec: 600 },
  });
});

test('a minimal request has no narrowing', () => {
  assert.deepEqual(parseTokenExchangeRequest(form(base)).requested, {});
});

const bad: [string, [string, string][], string, string][] = [
  ['missing grant_type', base.slice(1), 'invalid_request', 'grant_type'],
  ['another grant type', [['grant_type', 'client_credentials'], ...base.slice(1)], 'unsupported_grant_type', 'grant_type'],
  ['missing subject_token', [base[0]!, base[2]!], 'invalid_request', 'subject_token'],
  ['missing subject_token_type', base.slice(0, 2), 'invalid_request', 'subject_token_type'],
  ['unsupported subject_token_type', [...base.slice(0, 2), ['subject_token_type', 'urn:ietf:params:oauth:token-type:saml2']], 'invalid_request', 'subject_token_type'],
  ['actor_token without its type', [...base, ['actor_token', 'x']], 'invalid_request', 'actor_token_type'],
  ['actor_token_type without a token', [...base, ['actor_token_type', JWT]], 'invalid_request', 'actor_token_type'],
  ['a repeated parameter', [...base, ['subject_token', 'other']], 'invalid_request', 'subject_token'],
  ['a resource with a fragment', [...base, ['resource', 'https://warden.example/#x']], 'invalid_request', 'resource'],
  ['a relative resource', [...base, ['resource', '/v1']], 'invalid_request', 'resource'],
  ['an unknown scope value', [...base, ['scope', 'chat sudo']], 'invalid_scope', 'scope'],
  ['two tools', [...base, ['scope', 'callTool tool:a tool:b']], 'invalid_scope', 'scope'],
  ['a doubled space in scope', [...base, ['scope', 'chat  embed']], 'invalid_request', 'scope'],
  ['a non-numeric expires_in', [...base, ['expires_in', '5m']], 'invalid_request', 'expires_in'],
  ['a SAML requested_token_type', [...base, ['requested_token_type', 'urn:ietf:params:oauth:token-type:saml2']], 'invalid_request', 'requested_token_type'],
];
for (const [what, params, code, field] of bad) {
  test(`refuses ${what} with 400 ${code}`, () => {
    assert.throws(() => parseTokenExchangeRequest(form(params)), (e: unknown) => e instanceof BadRequest && e.status === 400 && e.code === code && e.field === field);
  });
}
