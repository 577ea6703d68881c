import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, ConfigError, loadConfig } from '../../src/config/config.js';

test('defaults: loopback listeners on 8443/9443, data dir ./.warden, demo upstream auto', () => {
  const c = loadConfig(undefined);
  assert.equal(c.listeners.inference.port, 8443);
  assert.equal(c.listeners.admin.port, 9443);
  assert.equal(c.listeners.inference.host, '127.0.0.1');
  assert.match(c.dataDir, /\.warden$/);
  assert.equal(c.demoUpstream.enabled, 'auto');
});

test('a valid config with upstreams parses, with defaults filled in', () => {
  const c = parseConfig('upstreams:\n  - name: vllm\n    baseUrl: http://127.0.0.1:8000/v1/\n    models: [llama]\n', '/tmp/w.yaml');
  assert.equal(c.upstreams[0]!.baseUrl, 'http://127.0.0.1:8000/v1');
  assert.equal(c.upstreams[0]!.connections, 128);
});

test('schema errors name the file, line:column, the path and what was expected', () => {
  const text = 'listeners:\n  inference:\n    port: "eighty"\nupstreams:\n  - name: x\n    baseUrl: ftp://nope\n    models: [a]\n';
  assert.throws(
    () => parseConfig(text, 'warden.yaml'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /warden\.yaml:3:11: \/listeners\/inference\/port: expected integer/);
      assert.match(e.message, /warden\.yaml:6:14: \/upstreams\/0\/baseUrl: expected a value matching/);
      return true;
    },
  );
});

test('unknown keys, missing keys and bad YAML are errors', () => {
  assert.throws(() => parseConfig('listners: {}\n', 'w.yaml'), /unknown key "listners"/);
  assert.throws(() => parseConfig('upstreams:\n  - name: a\n    models: [x]\n', 'w.yaml'), /missing required key "baseUrl"/);
  assert.throws(() => parseConfig('a: [1, 2\n', 'w.yaml'), /w\.yaml:\d+:\d+: invalid YAML/);
  // A public URL is an https origin: no path, no plain http.
  assert.equal(parseConfig('listeners:\n  inference: { publicUrl: "https://gw.example.com/" }\n', 'w.yaml').listeners.inference.publicUrl, 'https://gw.example.com');
  assert.throws(() => parseConfig('listeners:\n  inference: { publicUrl: "https://gw.example.com/v1" }\n', 'w.yaml'), /publicUrl/);
  assert.throws(() => parseConfig('listeners:\n  inference: { publicUrl: "http://gw.example.com" }\n', 'w.yaml'), /publicUrl/);
  assert.throws(() => parseConfig('listeners:\n  admin: { trustedProxies: ["10.0.0.0/33"] }\n', 'w.yaml'), /listeners\.admin\.trustedProxies: "10\.0\.0\.0\/33" is not an IPv4 or IPv6 CIDR/);
  assert.deepEqual(parseConfig('listeners:\n  inference: { trustedProxies: ["10.0.0.0/8", "fd00::/8", "192.0.2.1"] }\n', 'w.yaml').listeners.inference.trustedProxies, ['10.0.0.0/8', 'fd00::/8', '192.0.2.1']);
});

test('upstream credentials come from the environment: a missing variable is an error', () => {
  assert.throws(
    () => parseConfig('upstreams:\n  - name: oai\n    baseUrl: https://example.invalid/v1\n    apiKeyEnv: WARDEN_TEST_MISSING_VAR\n    models: [gpt]\n', 'w.yaml'),
    /WARDEN_TEST_MISSING_VAR .* is not set/,
  );
  assert.throws(() => parseConfig('upstreams:\n  - name: oai\n    baseUrl: https://x.invalid/v1\n    apiKey: sk-123\n    models: [gpt]\n', 'w.yaml'), /unknown key "apiKey"/);
});

test('a model served by two upstreams is refused', () => {
  const y = 'upstreams:\n  - {name: a, baseUrl: "http://127.0.0.1:1/v1", models: [m]}\n  - {name: b, baseUrl: "http://127.0.0.1:2/v1", models: [m]}\n';
  assert.throws(() => parseConfig(y, 'w.yaml'), /served by two upstreams/);
});

test('budgets: limits and prices parse; a budget without a limit, a duplicate and a bad window are errors', () => {
  const c = parseConfig(
    'budgets:\n  limits:\n    - { scope: tenant, id: acme, window: month, tokens: 1000000, cost: 250 }\n    - { scope: principal, id: "*", window: day, tokens: 50000 }\n  prices:\n    gpt-4o: { inputPer1k: 0.0025, outputPer1k: 0.01 }\n',
    'w.yaml',
  );
  assert.deepEqual(c.budgets.limits, [
    { scope: 'tenant', id: 'acme', window: 'month', tokens: 1_000_000, cost: 250 },
    { scope: 'principal', id: '*', window: 'day', tokens: 50_000, cost: null },
  ]);
  assert.deepEqual(c.budgets.prices, { 'gpt-4o': { inputPer1k: 0.0025, outputPer1k: 0.01 } });
  assert.equal(c.budgets.defaultMaxTokens, 4096);
  assert.deepEqual(parseConfig('', 'w.yaml').budgets, { limits: [], prices: {}, defaultMaxTokens: 4096 });
  assert.throws(() => parseConfig('budgets:\n  limits:\n    - { scope: key, id: k, window: day }\n', 'w.yaml'), /budgets\.limits\[0\]: give tokens, cost or both/);
  assert.throws(() => parseConfig('budgets:\n  limits:\n    - { scope: key, id: k, window: day, tokens: 1 }\n    - { scope: key, id: k, window: day, cost: 1 }\n', 'w.yaml'), /budgets\.limits\[1\]: a second day budget for key k/);
  assert.throws(() => parseConfig('budgets:\n  limits:\n    - { scope: key, id: k, window: year, tokens: 1 }\n', 'w.yaml'), /window/);
  assert.throws(() => parseConfig('budgets:\n  prices:\n    m: { inputPer1k: 1 }\n', 'w.yaml'), /outputPer1k/);
});

test('console.saml: defaults, the certificate file resolved beside the config, and bad values refused', () => {
  const base = 'console:\n  saml:\n    entryPoint: https://idp.example/sso\n    idpIssuer: https://idp.example/metadata\n    idpCertFile: certs/idp.pem\n    spEntityId: https://warden.example/console/saml\n';
  const c = parseConfig(base, '/etc/warden/warden.yaml');
  assert.deepEqual(c.console.saml, { entryPoint: 'https://idp.example/sso', idpIssuer: 'https://idp.example/metadata', idpCertFile: '/etc/warden/certs/idp.pem', spEntityId: 'https://warden.example/console/saml', mfaAuthnContexts: ['https://refeds.org/profile/mfa'], clockSkewSec: 30 });
  assert.equal(parseConfig('{}\n', '/tmp/w.yaml').console.saml, null);
  assert.throws(() => parseConfig(base.replace('https://idp.example/sso', 'http://idp.example/sso'), 'w.yaml'), ConfigError, 'the SSO URL must be https');
  assert.throws(() => parseConfig(base + '    clockSkewSec: 3600\n', 'w.yaml'), ConfigError);
  assert.throws(() => parseConfig(base + '    wantAssertionsSigned: false\n', 'w.yaml'), /unknown key "wantAssertionsSigned"/, 'signed assertions cannot be turned off');
  assert.throws(() => parseConfig(base.replace('    spEntityId: https://warden.example/console/saml\n', ''), 'w.yaml'), ConfigError);
});

test('rotation and upstream credential sources: each misconfiguration is refused at load', () => {
  const hook = (extra: string) => `monitor:\n  rotation:\n    enabled: true\n    webhook:\n      url: https://secrets.example/intake\n      signingSecretEnv: WARDEN_TEST_HOOK_SECRET\n${extra}`;
  delete process.env.WARDEN_TEST_HOOK_SECRET;
  assert.throws(() => parseConfig(hook(''), 'w.yaml'), /WARDEN_TEST_HOOK_SECRET \(signingSecretEnv\) must hold a signing secret of at least 32 characters/);
  process.env.WARDEN_TEST_HOOK_SECRET = 'x'.repeat(32);
  try {
    assert.equal(parseConfig(hook(''), 'w.yaml').monitor.rotation.webhook!.attempts, 3);
    assert.throws(() => parseConfig(hook('      attempts: 11\n'), 'w.yaml'), /attempts/);
    assert.throws(() => parseConfig(hook('').replace('https://secrets', 'http://secrets'), 'w.yaml'), /url/);
  } finally {
    delete process.env.WARDEN_TEST_HOOK_SECRET;
  }
  const up = (src: string) => `upstreams:\n  - name: a\n    baseUrl: http://127.0.0.1:8000/v1\n    models: [m]\n${src}`;
  assert.equal(parseConfig(up('    apiKeySource: { file: keys/a.key }\n'), '/etc/warden/w.yaml').upstreams[0]!.apiKeySource!.refreshMs, 300_000);
  assert.throws(() => parseConfig(up('    apiKeySource: { file: a.key, command: [cat, a.key] }\n'), 'w.yaml'), /apiKeySource/);
  assert.throws(() => parseConfig(up('    apiKeySource: { refreshMs: 5000 }\n'), 'w.yaml'), /apiKeySource/);
  process.env.WARDEN_TEST_UP_KEY = 'k';
  try {
    assert.throws(() => parseConfig(up('    apiKeyEnv: WARDEN_TEST_UP_KEY\n    apiKeySource: { file: a.key }\n'), 'w.yaml'), /apiKeyEnv and apiKeySource both name its secret/);
  } finally {
    delete process.env.WARDEN_TEST_UP_KEY;
  }
  assert.throws(() => parseConfig('monitor:\n  rotation:\n    toolCredentialKeys: { enabled: true, overlapMinutes: 1 }\n', 'w.yaml'), /overlapMinutes/);
});
