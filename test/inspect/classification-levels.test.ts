// Configurable classification levels (warden.yaml `classification`): a scheme of five levels drives inspection,
// placement, the screen's declared-versus-found check and policy request files; every bad scheme is refused at load.
// The default scheme is the four built-in levels, unchanged (the other inspect tests pin its behaviour).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, classificationSchemeOf, parseConfig } from '../../src/config/config.js';
import { BadRequest } from '../../src/core/errors.js';
import { placementRequirements, expiryFor } from '../../src/data/placement.js';
import { scanClassification } from '../../src/data/screen/classification-scan.js';
import { DEFAULT_SCHEME, inspectRequest, inspectText } from '../../src/inspect/index.js';
import { requestFromSpec, RequestFileInvalid } from '../../src/policy/request-file.js';
import { WardenSchema } from '../../src/policy/schema.js';
import { PolicyDecisionPoint } from '../../src/policy/pdp.js';
import { PolicyAdmin } from '../../src/policy/policy-admin.js';
import { SqlitePolicyStore } from '../../src/store/policy-sqlite.js';
import { openSqlite } from '../../src/store/sqlite.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FIVE = `classification:
  levels: [public, internal, confidential, secret, top-secret]
  detectors:
    restricted: top-secret
`;
const scheme = classificationSchemeOf(parseConfig(FIVE, 'five.yaml'));
const AWS = 'AKIAIOSFODNN7EXAMPLE';

test('five levels: the detectors land where the config maps them; labels and contexts are the configured names', () => {
  assert.deepEqual(scheme.levels, ['public', 'internal', 'confidential', 'secret', 'top-secret']);
  assert.equal(inspectText('What is the capital of France?', { scheme }).classification, 'public');
  assert.equal(inspectText('mail me at alice@example.org', { scheme }).classification, 'internal');
  assert.equal(inspectText('card 4111 1111 1111 1111', { scheme }).classification, 'confidential');
  assert.equal(inspectText(`key ${AWS}`, { scheme }).classification, 'top-secret', 'credentials land on top-secret');
  assert.equal(inspectText('hello', { scheme, assertedLabel: 'secret' }).classification, 'secret', 'a caller may raise to a configured level');
  assert.equal(inspectText(`key ${AWS}`, { scheme, assertedLabel: 'secret' }).classification, 'top-secret', 'but never lower');
  // A request on the route's surface, as the gateway inspects it.
  const f = inspectRequest('chat', { model: 'm', messages: [{ role: 'user', content: `deploy with ${AWS}` }] }, { scheme });
  assert.equal(f.classification, 'top-secret');
  // A label the scheme does not hold is refused, naming the allowed levels; `restricted` is not one of them here.
  assert.throws(() => inspectText('x', { scheme, assertedLabel: 'restricted' }), (e: unknown) => e instanceof BadRequest && /public, internal, confidential, secret, top-secret/.test(e.message));
  assert.throws(() => scheme.parse('cosmic', 'label'), (e: unknown) => e instanceof BadRequest && e.code === 'invalid_classification');
  assert.throws(() => inspectText('x', { assertedLabel: 'secret' }), BadRequest, 'the default scheme has no secret');
});

test('clearance:<level> reaches that level and those under it; every member reaches internal', () => {
  assert.equal(scheme.clearanceOf(['consumers']), 'internal');
  assert.equal(scheme.clearanceOf(['clearance:secret']), 'secret');
  assert.equal(scheme.clearanceOf(['clearance:secret', 'clearance:top-secret']), 'top-secret');
  assert.equal(scheme.clearanceOf(['clearance:restricted']), 'internal', 'a level this scheme does not hold grants nothing');
  assert.equal(scheme.clearanceOf(['clearance:public']), 'internal');
  assert.equal(DEFAULT_SCHEME.clearanceOf(['clearance:restricted']), 'restricted');
  assert.equal(DEFAULT_SCHEME.clearanceOf(['clearance:confidential']), 'confidential');
});

test('placement: classes are keyed by the configured levels; unknown data is judged at the highest', () => {
  const cfg = parseConfig(`${FIVE}placement:\n  classes:\n    secret: { tiers: [onprem] }\n    top-secret: { tiers: [onprem], regions: [eu], retention: 1h }\n`, 'p.yaml');
  assert.deepEqual(placementRequirements(cfg.placement, 'secret', 'acme').map((r) => r.value), ['onprem']);
  assert.deepEqual(placementRequirements(cfg.placement, 'top-secret', 'acme').map((r) => r.value), ['onprem', 'eu']);
  assert.equal(expiryFor(cfg.placement, undefined, 0, scheme.highest), 3_600_000, 'an unknown class keeps top-secret retention');
  assert.throws(() => parseConfig(`${FIVE}placement:\n  classes:\n    restricted: { tiers: [onprem] }\n`, 'p.yaml'),
    (e: unknown) => e instanceof ConfigError && /placement\.classes\.restricted: "restricted" is not a classification level \(public, internal, confidential, secret, top-secret\)/.test(e.message));
  // The default levels still accept the four names.
  assert.equal(parseConfig('placement:\n  classes:\n    restricted: { tiers: [onprem] }\n', 'd.yaml').placement.classes.restricted!.tiers![0], 'onprem');
});

test('the screen compares the declaration with what was found on the configured scale', () => {
  const recs = [{ file: 'a.jsonl', index: 0, text: `the deploy key is ${AWS}`, label: null, numeric: {} }];
  const low = scanClassification(recs, { classification: 'secret', categories: ['credentials'] }, { scheme });
  assert.equal(low.flagged, true);
  assert.equal(low.implied, 'top-secret');
  assert.match(low.reasons.join(' '), /declared secret but the records hold aws_access_key \(top-secret\)/);
  assert.equal(scanClassification(recs, { classification: 'top-secret', categories: ['credentials'] }, { scheme }).flagged, false);
  const unknown = scanClassification(recs, { classification: 'restricted', categories: ['credentials'] }, { scheme });
  assert.equal(unknown.flagged, true, 'a level this scheme does not hold fails closed');
  assert.match(unknown.reasons[0]!, /not a known level \(public, internal, confidential, secret, top-secret\)/);
});

test('policy request files (warden policy test / explain) name the configured levels', () => {
  const schema = WardenSchema.fromFile();
  const spec = { principal: { kind: 'user' as const, id: 'u', tenant: 'acme' }, action: 'chat' as const, resource: { type: 'Model' as const, id: 'm' }, findings: { classification: 'secret' } };
  const req = requestFromSpec(spec, {}, schema, 'f.test.yaml', scheme);
  assert.equal(req.context.value.classification, 'secret');
  assert.throws(() => requestFromSpec(spec, {}, schema, 'f.test.yaml'), (e: unknown) => e instanceof RequestFileInvalid && /"secret" is not one of public, internal, confidential, restricted/.test(e.message));
  assert.throws(() => requestFromSpec({ ...spec, findings: { classification: 'restricted' } }, {}, schema, 'f.test.yaml', scheme), RequestFileInvalid);
});

test('the admin API\'s policy test (POST /admin/v1/policies/test) reads request files with the configured levels', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-levels-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'levels.test.yaml'), [
    'cases:',
    '  - name: secret data may not reach a public cloud model',
    '    principal: { kind: user, id: u, tenant: acme, groups: [consumers] }',
    '    action: chat',
    '    resource: { type: Model, id: m, attrs: { tier: public_cloud, grantees: [consumers] } }',
    '    findings: { classification: secret }',
    '    expect: { decision: deny }',
    '',
  ].join('\n'));
  const policy = '@id("no-secret-to-cloud")\nforbid (principal, action, resource is Model) when { context.classification == "secret" && resource has tier && resource.tier == "public_cloud" };\n@id("all")\npermit (principal, action, resource);\n';
  const adminWith = (levels?: typeof scheme) => new PolicyAdmin(new PolicyDecisionPoint(), new SqlitePolicyStore(openSqlite(':memory:')), null, ...(levels ? [levels] : []));
  const five = adminWith(scheme).test(policy, dir).results;
  assert.deepEqual(five.map((r) => [r.name, r.passed]), [['secret data may not reach a public cloud model', true]], JSON.stringify(five));
  // The same file under the default levels names a level that does not exist: the case fails, saying so.
  const four = adminWith().test(policy, dir).results;
  assert.equal(four[0]!.passed, false);
  assert.match(String((four[0] as { problems?: string[] }).problems), /"secret" is not one of public, internal, confidential, restricted/);
});

test('a bad scheme is refused when the config is loaded, saying which level and why', () => {
  const refused = (yaml: string, re: RegExp) => assert.throws(() => parseConfig(yaml, 'w.yaml'), (e: unknown) => e instanceof ConfigError && re.test(e.message), yaml);
  refused('classification:\n  levels: [public, internal, internal, confidential, restricted]\n', /w\.yaml: classification\.levels: "internal" is listed twice/);
  refused('classification:\n  levels: [public, internal, confidential, secret]\n', /the built-in level "restricted" is not one of the levels \(public, internal, confidential, secret\): list it, or map it with detectors\.restricted/);
  refused('classification:\n  levels: [public, internal, confidential, secret]\n  detectors:\n    restricted: top-secret\n', /detectors\.restricted: "top-secret" is not one of the levels/);
  refused('classification:\n  levels: [low, high]\n  detectors:\n    public: low\n    internal: high\n    confidential: low\n    restricted: high\n', /detectors\.confidential: low is below high, where internal lands/);
  refused('classification:\n  levels: []\n', /levels/);
  refused('classification:\n  levels: [Public]\n', /levels\/0/);
  refused('classification:\n  detectors:\n    secret: internal\n', /detectors/);
  refused('classification:\n  levels: [none, public, internal, confidential, restricted]\n', /"none" is reserved/);
  // Two levels, every built-in mapped: a valid scheme.
  const two = classificationSchemeOf(parseConfig('classification:\n  levels: [open, closed]\n  detectors: { public: open, internal: open, confidential: closed, restricted: closed }\n', 'w.yaml'));
  assert.equal(inspectText('card 4111 1111 1111 1111', { scheme: two }).classification, 'closed');
  assert.equal(inspectText('mail me at alice@example.org', { scheme: two }).classification, 'open');
});
