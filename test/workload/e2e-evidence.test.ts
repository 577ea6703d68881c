// The two translations the gateway's workload plane owns: a registry deployment's flat attestation
// requirement → the verifiers' reference values, and the evidence endpoint's JSON → Evidence. Each
// refusal is provoked; the happy paths are exercised end to end in e2e-routing.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEvidenceJson } from '../../src/workload/attestation/evidence-fetch.js';
import { referenceFromRequirement } from '../../src/workload/attestation/requirement.js';
import { AttestationConfigurationInvalid, AttestationMalformed } from '../../src/workload/attestation/index.js';
import { loadNitroDocument, nitroExpectations } from './attestation/samples.js';

const HEX48 = 'ab'.repeat(48);

test('nitro, sev-snp and jwt requirements become typed references', () => {
  assert.deepEqual(referenceFromRequirement({ type: 'aws-nitro', referenceValues: { pcr0: HEX48, '8': HEX48 } }), { type: 'nitro', pcrs: { '0': HEX48, '8': HEX48 } });
  // A debug enclave is admitted only when the deployment says so explicitly.
  assert.deepEqual(referenceFromRequirement({ type: 'aws-nitro', referenceValues: { pcr0: HEX48, allowDebug: 'true' } }), { type: 'nitro', pcrs: { '0': HEX48 }, allowDebug: true });
  assert.deepEqual(
    referenceFromRequirement({ type: 'sev-snp', referenceValues: { measurement: HEX48, vmpl: '0', allowDebug: 'false', signingKeys: 'vcek' } }),
    { type: 'sev-snp', measurement: HEX48, vmpl: 0, allowDebug: false, signingKeys: ['vcek'] },
  );
  assert.deepEqual(
    referenceFromRequirement({ type: 'jwt', referenceValues: { issuer: 'https://cs.example', audience: 'warden', 'claim.submods.container.image_digest': 'sha256:00' } }),
    { type: 'jwt', issuer: 'https://cs.example', audience: 'warden', claims: { 'submods.container.image_digest': 'sha256:00' } },
  );
});

test('a requirement the verifier cannot enforce is refused, naming what is wrong', () => {
  const bad: [string, Record<string, string>, RegExp][] = [
    ['sgx', { mrenclave: HEX48 }, /unknown attestation type/],
    ['tdx', { mrtd: HEX48, measurement: HEX48 }, /unknown key "measurement"/],
    ['nitro', { firmware: HEX48 }, /unknown key "firmware"/],
    ['nitro', {}, /pins no PCR/],
    ['nitro', { pcr0: 'zz' }, /PCR0/],
    ['sev-snp', { measurement: HEX48, debug: 'yes' }, /unknown key "debug"/],
    ['sev-snp', { measurement: HEX48, allowDebug: 'yes' }, /true or false/],
    ['sev-snp', { measurement: HEX48, vmpl: '-1' }, /non-negative integer/],
    ['sev-snp', { measurement: HEX48, signingKeys: 'ark' }, /vcek and\/or vlek/],
    ['sev-snp', { hostData: HEX48 }, /measurement/],
    ['jwt', { issuer: 'https://cs.example', audience: 'warden' }, /pins no claim/],
    ['jwt', { issuer: 'https://cs.example', audience: 'warden', hwmodel: 'x' }, /unknown key "hwmodel"/],
  ];
  for (const [type, referenceValues, message] of bad) {
    assert.throws(() => referenceFromRequirement({ type, referenceValues }), (e: unknown) => e instanceof AttestationConfigurationInvalid && message.test((e as Error).message), `${type} ${JSON.stringify(referenceValues)}`);
  }
  assert.throws(() => referenceFromRequirement({ type: 'nitro', referenceValues: { pcr0: 1 as unknown as string } }), AttestationConfigurationInvalid);
});

test('evidence JSON: the three kinds parse; a real Nitro document survives the base64 round trip', () => {
  const doc = loadNitroDocument(nitroExpectations[0]!);
  const n = parseEvidenceJson(Buffer.from(JSON.stringify({ type: 'nitro', document: doc.toString('base64') })));
  assert.equal(n.type, 'nitro');
  assert.deepEqual(Buffer.from((n as { document: Uint8Array }).document), doc);
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const s = parseEvidenceJson(Buffer.from(JSON.stringify({ type: 'sev-snp', report: 'AAAA', endorsementCert: pem, intermediates: ['AQID'], publicKey: 'AQID' })));
  assert.equal(s.type, 'sev-snp');
  assert.equal((s as { endorsementCert: unknown }).endorsementCert, pem);
  assert.deepEqual((s as { intermediates: Uint8Array[] }).intermediates.map((c) => Buffer.from(c)), [Buffer.from([1, 2, 3])]);
  assert.deepEqual(parseEvidenceJson(Buffer.from('{"type":"jwt","token":"a.b.c"}')), { type: 'jwt', token: 'a.b.c' });
});

test('malformed evidence is AttestationMalformed (the monitor then withdraws trust)', () => {
  const bad = ['not json', '[]', 'null', '{"type":"tdx"}', '{"type":"nitro"}', '{"type":"nitro","document":"***"}', '{"type":"nitro","document":""}',
    '{"type":"sev-snp","report":"AAAA"}', '{"type":"sev-snp","report":"AAAA","endorsementCert":"AAAA","intermediates":"AAAA"}', '{"type":"jwt","token":""}', '{"type":"jwt","token":7}'];
  for (const b of bad) assert.throws(() => parseEvidenceJson(Buffer.from(b)), AttestationMalformed, b);
});
