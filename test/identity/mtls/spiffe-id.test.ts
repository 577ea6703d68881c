import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpiffeId } from '../../../src/identity/mtls/spiffe-id.js';
import { InvalidClientCertificate } from '../../../src/identity/errors.js';

test('parses a SPIFFE ID into trust domain and path segments', () => {
  assert.deepEqual(parseSpiffeId('spiffe://prod.acme-1.example/ns/pay_ments/sa/api.v2'), {
    id: 'spiffe://prod.acme-1.example/ns/pay_ments/sa/api.v2',
    trustDomain: 'prod.acme-1.example',
    segments: ['ns', 'pay_ments', 'sa', 'api.v2'],
  });
  assert.deepEqual(parseSpiffeId('spiffe://td').segments, []);
});

// Each invalid form from SPIFFE-ID §2 is refused with its own internal reason.
const invalid: [string, string][] = [
  ['https://td/a', 'spiffe_id_scheme'],
  ['SPIFFE://td/a', 'spiffe_id_scheme'],
  ['spiffe:///a', 'spiffe_id_empty_trust_domain'],
  ['spiffe://td/a?x=1', 'spiffe_id_query_or_fragment'],
  ['spiffe://td/a#frag', 'spiffe_id_query_or_fragment'],
  ['spiffe://user@td/a', 'spiffe_id_userinfo'],
  ['spiffe://td:8443/a', 'spiffe_id_port'],
  ['spiffe://TD.example/a', 'spiffe_id_trust_domain_chars'],
  ['spiffe://td/a//b', 'spiffe_id_empty_segment'],
  ['spiffe://td/a/', 'spiffe_id_empty_segment'],
  ['spiffe://td/a/../b', 'spiffe_id_dot_segment'],
  ['spiffe://td/./b', 'spiffe_id_dot_segment'],
  ['spiffe://td/a%20b', 'spiffe_id_path_chars'],
  ['spiffe://td/' + 'a'.repeat(2048), 'spiffe_id_too_long'],
];
for (const [id, reason] of invalid) {
  test(`rejects ${id.slice(0, 40)} (${reason})`, () => {
    assert.throws(() => parseSpiffeId(id), (e: unknown) => e instanceof InvalidClientCertificate && e.reason === reason);
  });
}
