// Config mistakes are caught at start: every object in the config schema is closed, so a misspelt key anywhere
// (top level, nested, inside an array item) is an error naming the file, the key's line and its path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CONFIG_SCHEMA } from '../../src/config/schema.js';
import { ConfigError, closestKey, parseConfig } from '../../src/config/config.js';

type Schema = Record<string, unknown>;

/** Every subschema with its JSON pointer (properties, items, additionalProperties maps, $defs, anyOf/oneOf/allOf). */
function* subschemas(s: unknown, at: string): Generator<[string, Schema]> {
  if (!s || typeof s !== 'object' || Array.isArray(s)) return;
  const schema = s as Schema;
  yield [at, schema];
  for (const [k, v] of Object.entries((schema.properties as Schema | undefined) ?? {})) yield* subschemas(v, `${at}/properties/${k}`);
  for (const [k, v] of Object.entries((schema.$defs as Schema | undefined) ?? {})) yield* subschemas(v, `${at}/$defs/${k}`);
  if (schema.items) yield* subschemas(schema.items, `${at}/items`);
  if (typeof schema.additionalProperties === 'object') yield* subschemas(schema.additionalProperties, `${at}/additionalProperties`);
  for (const k of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = schema[k];
    if (Array.isArray(list)) for (const [i, v] of list.entries()) yield* subschemas(v, `${at}/${k}/${i}`);
  }
}

test('every object in the config schema is closed: no key is ever silently ignored', () => {
  let objects = 0;
  for (const [at, s] of subschemas(CONFIG_SCHEMA, '#')) {
    const isObject = s.type === 'object' || s.properties !== undefined || s.required !== undefined;
    if (!isObject) continue;
    objects++;
    assert.equal(s.type, 'object', `${at}: an object schema says type: object`);
    // Closed: either no key beyond `properties`, or a map whose values are themselves schemas (walked above).
    const ap = s.additionalProperties;
    assert.ok(ap === false || (typeof ap === 'object' && ap !== null), `${at}: additionalProperties must be false (or a schema for a map's values), got ${JSON.stringify(ap)}`);
    if (ap === false) assert.ok(s.properties && typeof s.properties === 'object', `${at}: a closed object lists its properties`);
    else assert.equal(s.properties, undefined, `${at}: a map takes no fixed properties`);
  }
  // The walk reached the whole schema (a walker that found nothing would pass vacuously).
  assert.ok(objects > 30, `only ${objects} object schemas found`);
});

test('the walker would catch an open object (the test can fail)', () => {
  const open = { type: 'object', properties: { a: { type: 'array', items: { type: 'object', properties: { b: { type: 'string' } } } } }, additionalProperties: false };
  const found = [...subschemas(open, '#')].filter(([, s]) => s.type === 'object' && s.additionalProperties !== false).map(([at]) => at);
  assert.deepEqual(found, ['#/properties/a/items']);
});

function refusal(text: string): string {
  try {
    parseConfig(text, 'warden.yaml');
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail('the config was accepted');
}

test('a misspelt top-level key names the file, its line, the key and what was meant', () => {
  const m = refusal('dataDir: /tmp/w\nlistners:\n  inference: { port: 0 }\n');
  assert.equal(m, 'warden.yaml:2:1: /listners: unknown key "listners" (did you mean "listeners"?)');
});

test('a misspelt nested key names its line and full path', () => {
  const m = refusal('limits:\n  unauthenticated:\n    requestsPerSecond: 2\n    brust: 30\n');
  assert.equal(m, 'warden.yaml:4:5: /limits/unauthenticated/brust: unknown key "brust" (did you mean "burst"?)');
});

test('a misspelt caFile inside an oidc.issuers[] item is refused (it used to start silently)', () => {
  const text = 'oidc:\n  issuers:\n    - issuer: https://idp.example\n      audience: warden\n      discovery: true\n      cafile: idp-ca.pem\n';
  assert.equal(refusal(text), 'warden.yaml:6:7: /oidc/issuers/0/cafile: unknown key "cafile" (did you mean "caFile"?)');
  assert.match(refusal(text.replace('cafile', 'caFlie')), /warden\.yaml:6:7: \/oidc\/issuers\/0\/caFlie: unknown key "caFlie" \(did you mean "caFile"\?\)/);
  // Nested deeper, in another array: spiffe.rules[] and an issuer's claims mapping.
  assert.match(refusal('spiffe:\n  trustDomains: [prod]\n  rules:\n    - idPrefix: spiffe://prod/a\n      group: [x]\n'), /warden\.yaml:5:7: \/spiffe\/rules\/0\/group: unknown key "group" \(did you mean "groups"\?\)/);
  assert.match(refusal('oidc:\n  issuers:\n    - issuer: https://idp.example\n      audience: warden\n      discovery: true\n      claims: { tenant: { claims: tenant } }\n'), /\/oidc\/issuers\/0\/claims\/tenant\/claims: unknown key "claims" \(did you mean "claim"\?\)/);
  // The correctly spelt key is accepted and resolved against the config file's directory.
  const ok = parseConfig(text.replace('cafile', 'caFile'), '/etc/warden/warden.yaml');
  assert.equal(ok.oidc.issuers[0]!.caFile, '/etc/warden/idp-ca.pem');
});

test('a key nothing resembles gets no suggestion', () => {
  assert.equal(refusal('frobnicate: 1\n'), 'warden.yaml:1:1: /frobnicate: unknown key "frobnicate"');
  assert.equal(closestKey('port', ['host', 'port']), 'port');
  assert.equal(closestKey('prot', ['host', 'port']), 'port');
  assert.equal(closestKey('xyz', ['host', 'port']), null);
});

test('the README config example still passes the closed schema', () => {
  const readme = readFileSync('README.md', 'utf8');
  const block = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('httpSignatures:') && b.includes('oidc:'));
  assert.ok(block, 'the README has a full config example');
  process.env.VLLM_API_KEY ??= 'test';
  const c = parseConfig(block, '/etc/warden/warden.yaml');
  assert.equal(c.oidc.issuers.length, 1);
});
