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
