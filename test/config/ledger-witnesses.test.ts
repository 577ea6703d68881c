// ledger.witnesses and ledger.witnessIntervalMs: closed objects, keys that must be cosignature/v1 vkeys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { parseConfig } from '../../src/config/config.js';
import { formatCosignatureVerifierKey } from '../../src/ledger/cosignature.js';
import { ledgerKeyFromPrivate } from '../../src/ledger/key.js';

const wkey = formatCosignatureVerifierKey('witness.test/w1', generateKeyPairSync('ed25519').publicKey);
const witness = (extra = '', key = wkey) => `ledger:\n  witnesses:\n    - { name: w1, url: "http://127.0.0.1:7380", key: "${key}"${extra} }\n`;

test('witnesses parse with a default interval of a minute', () => {
  const c = parseConfig(witness(), 'w.yaml');
  assert.deepEqual(c.ledger.witnesses, [{ name: 'w1', url: 'http://127.0.0.1:7380', key: wkey }]);
  assert.equal(c.ledger.witnessIntervalMs, 60_000);
  assert.deepEqual(parseConfig('{}\n', 'w.yaml').ledger.witnesses, []);
  assert.equal(parseConfig('ledger: { witnessIntervalMs: 5000 }\n', 'w.yaml').ledger.witnessIntervalMs, 5000);
});

test('a witness key whose base64 material contains "+" is read whole', () => {
  let key = '';
  while (!/\+.*\+.*\+/.test(key)) key = formatCosignatureVerifierKey('witness.test/w1', generateKeyPairSync('ed25519').publicKey);
  assert.equal(parseConfig(witness('', key), 'w.yaml').ledger.witnesses[0]!.key, key);
});

test('an unknown key under a witness, a missing key, a duplicate name and a too short interval are refused', () => {
  assert.throws(() => parseConfig(witness(', caFile: x.pem'), 'w.yaml'), /w\.yaml:3:\d+: \/ledger\/witnesses\/0\/caFile: unknown key "caFile"/);
  assert.throws(() => parseConfig('ledger:\n  witnesses:\n    - { name: w1, url: "http://127.0.0.1:7380" }\n', 'w.yaml'), /missing required key "key"/);
  assert.throws(() => parseConfig('ledger:\n  witnesses:\n    - { name: w1, url: "http://a", key: "' + wkey + '" }\n    - { name: w1, url: "http://b", key: "' + wkey + '" }\n', 'w.yaml'), /the name "w1" is used twice/);
  assert.throws(() => parseConfig('ledger: { witnessIntervalMs: 10 }\n', 'w.yaml'), /witnessIntervalMs/);
});

test('a log key (signature type 0x01) given as a witness key is refused', () => {
  const logVkey = ledgerKeyFromPrivate(generateKeyPairSync('ed25519').privateKey).vkey;
  assert.throws(() => parseConfig(witness('', logVkey), 'w.yaml'), /is not an Ed25519 cosignature\/v1 verifier key/);
});
