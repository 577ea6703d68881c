// warden.yaml sections for running in production: shutdown (and, below, pools and segmentation).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/config.js';

test('shutdown.drainTimeoutMs: default 25 s (under Kubernetes\' 30 s grace period); bad values and unknown keys are refused', () => {
  assert.equal(parseConfig('{}\n', 'w.yaml').shutdown.drainTimeoutMs, 25_000);
  assert.equal(parseConfig('shutdown: { drainTimeoutMs: 0 }\n', 'w.yaml').shutdown.drainTimeoutMs, 0);
  assert.throws(() => parseConfig('shutdown: { drainTimeoutMs: -1 }\n', 'w.yaml'), /w\.yaml:1:29: \/shutdown\/drainTimeoutMs: /);
  assert.throws(() => parseConfig('shutdown: { drainTimeoutMs: "30s" }\n', 'w.yaml'), /\/shutdown\/drainTimeoutMs: expected integer/);
  assert.throws(() => parseConfig('shutdown: { drainTimeout: 100 }\n', 'w.yaml'), /unknown key "drainTimeout".*drainTimeoutMs/);
});

test('upstreams[].endpoints: defaults, and every misuse is refused with its reason', () => {
  const u = parseConfig('upstreams:\n  - name: p\n    models: [m]\n    endpoints: [{ url: "http://10.0.0.1:8000/v1/", weight: 3 }, { url: "http://10.0.0.2:8000/v1" }]\n', 'w.yaml').upstreams[0]!;
  assert.equal(u.baseUrl, 'http://10.0.0.1:8000/v1');
  assert.deepEqual(u.pool, {
    endpoints: [{ url: 'http://10.0.0.1:8000/v1', weight: 3 }, { url: 'http://10.0.0.2:8000/v1', weight: 1 }],
    retries: 1,
    healthCheck: { path: '/models', intervalMs: 5000, timeoutMs: 2000, unhealthyAfter: 2, healthyAfter: 2 },
    outlierEjection: { consecutiveFailures: 3, ejectMs: 30000 },
  });
  const bad = (yaml: string, re: RegExp) => assert.throws(() => parseConfig(`upstreams:\n  - name: p\n    models: [m]\n${yaml}`, 'w.yaml'), re);
  bad('', /upstreams\[0\] \(p\): missing required key "baseUrl" \(or "endpoints", for several\)/);
  bad('    baseUrl: http://a/v1\n    endpoints: [{ url: "http://b/v1" }]\n', /give baseUrl or endpoints, not both/);
  bad('    baseUrl: http://a/v1\n    retries: 1\n', /retries, healthCheck and outlierEjection apply to endpoints/);
  bad('    endpoints: [{ url: "http://a/v1" }, { url: "http://a/v1/" }]\n', /the same url is listed twice/);
  bad('    endpoints: [{ url: "http://a/v1" }, { url: "http://b/v1" }]\n    retries: 2\n', /retries is 2 but there are only 1 other endpoints/);
  bad('    endpoints: []\n', /\/upstreams\/0\/endpoints: /);
  bad('    endpoints: [{ url: "http://a/v1", weight: 0 }]\n', /\/upstreams\/0\/endpoints\/0\/weight: /);
  bad('    endpoints: [{ url: "ftp://a/v1" }]\n', /\/upstreams\/0\/endpoints\/0\/url: /);
  bad('    endpoints: [{ url: "http://a/v1", wieght: 2 }]\n', /unknown key "wieght".*weight/);
  bad('    endpoints: [{ url: "http://a/v1" }]\n    healthCheck: { intervalMs: 10 }\n', /healthCheck\/intervalMs: /);
  bad('    endpoints: [{ url: "http://a/v1" }]\n    outlierEjection: { consecutiveFailures: 0 }\n', /outlierEjection\/consecutiveFailures: /);
  bad('    baseUrl: http://a/v1\n    streamStallMs: 5\n', /streamStallMs: /);
});
