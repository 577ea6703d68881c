// SEV-SNP reports from a test PKI: key binding through report_data, VCEK TCB / chip binding, and a
// report endorsed all the way to key release.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { compactDecrypt } from 'jose';
import { verifyEvidence } from '../../../src/workload/attestation/verify-evidence.js';
import {
  AttestationChainInvalid,
  AttestationKeyBindingInvalid,
  AttestationNonceMismatch,
  AttestationPolicyViolation,
} from '../../../src/workload/attestation/errors.js';
import { createTrustAnchors } from '../../../src/workload/attestation/trust.js';
import type { SevSnpReference, TrustAnchors } from '../../../src/workload/attestation/types.js';
import { releaseModelKey } from '../../../src/workload/key-release.js';
import { wrapModelKey } from '../../../src/workload/key-release-envelope.js';
import { KeyReleaseReferenceUnmeasured } from '../../../src/workload/key-release-errors.js';
import { bindKey, createSnpPki, der, forgeSnpReport, type SnpPki } from './snp-forge.js';
import { realTrust } from './samples.js';
import { tmpKeyring } from '../../helpers/keyring.js';

const T0 = Date.UTC(2025, 5, 1, 12);
const measurement = Buffer.alloc(48, 0x6d);
const reference: SevSnpReference = { type: 'sev-snp', measurement: measurement.toString('hex') };
let pki: SnpPki;
let trust: TrustAnchors;

before(async () => {
  pki = await createSnpPki(T0);
  trust = createTrustAnchors({ amdPem: [pki.ark.cert.toString('pem'), pki.ask.cert.toString('pem')] });
});

const opts = (nonce: Buffer) => ({ nonce, now: T0, maxAgeMs: 60_000, trust });

test('report_data = SHA-512(nonce ‖ SPKI) binds the guest key, and the key release reaches only that guest', async () => {
  const nonce = randomBytes(32);
  const guest = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const spki = guest.publicKey.export({ format: 'der', type: 'spki' }) as Buffer;
  const report = await forgeSnpReport(pki, { measurement, reportData: bindKey(nonce, spki) });
  const v = await verifyEvidence({ type: 'sev-snp', report, endorsementCert: der(pki.vcek.cert), publicKey: spki }, reference, opts(nonce));
  assert.ok(v.publicKey?.equals(guest.publicKey));
  const { keyring } = tmpKeyring();
  const dataKey = randomBytes(32);
  const r = await releaseModelKey(await wrapModelKey(keyring, { keyId: 'k', modelId: 'm', tenant: 'default' }, dataKey), v, reference, { keyring, modelId: 'm', now: T0, maxEvidenceAgeMs: 60_000 });
  assert.ok(Buffer.from((await compactDecrypt(r.jwe, guest.privateKey)).plaintext).equals(dataKey));
});

test('a key swapped in by the host (not the one hashed into report_data) is refused', async () => {
  const nonce = randomBytes(32);
  const guest = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'der', type: 'spki' }) as Buffer;
  const host = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'der', type: 'spki' }) as Buffer;
  const report = await forgeSnpReport(pki, { measurement, reportData: bindKey(nonce, guest) });
  await assert.rejects(verifyEvidence({ type: 'sev-snp', report, endorsementCert: der(pki.vcek.cert), publicKey: host }, reference, opts(nonce)), AttestationNonceMismatch);
  await assert.rejects(verifyEvidence({ type: 'sev-snp', report, endorsementCert: der(pki.vcek.cert), publicKey: Buffer.from('junk') }, reference, opts(nonce)), AttestationKeyBindingInvalid);
  // Without a claimed key, the hashed report_data is not the bare nonce either.
  await assert.rejects(verifyEvidence({ type: 'sev-snp', report, endorsementCert: der(pki.vcek.cert) }, reference, opts(nonce)), AttestationNonceMismatch);
});

test('a VCEK issued for another TCB, or another chip, does not endorse the report', async () => {
  const nonce = randomBytes(32);
  const otherTcb = await createSnpPki(T0, { certTcb: { bootloader: 3, tee: 0, snp: 9, microcode: 115 } });
  const t1 = createTrustAnchors({ amdPem: [otherTcb.ark.cert.toString('pem'), otherTcb.ask.cert.toString('pem')] });
  const r1 = await forgeSnpReport(otherTcb, { measurement, reportData: Buffer.concat([nonce, Buffer.alloc(32)]) });
  await assert.rejects(verifyEvidence({ type: 'sev-snp', report: r1, endorsementCert: der(otherTcb.vcek.cert) }, reference, { ...opts(nonce), trust: t1 }), (e: Error) => e instanceof AttestationChainInvalid && /TCB/.test(e.message));

  const otherChip = await createSnpPki(T0, { certChipId: Buffer.alloc(64, 0x22) });
  const t2 = createTrustAnchors({ amdPem: [otherChip.ark.cert.toString('pem'), otherChip.ask.cert.toString('pem')] });
  const r2 = await forgeSnpReport(otherChip, { measurement, reportData: Buffer.concat([nonce, Buffer.alloc(32)]) });
  await assert.rejects(verifyEvidence({ type: 'sev-snp', report: r2, endorsementCert: der(otherChip.vcek.cert) }, reference, { ...opts(nonce), trust: t2 }), (e: Error) => e instanceof AttestationChainInvalid && /chip_id/.test(e.message));
  // Same PKI, matching chip: accepted, so the two refusals above are about the binding alone.
  const ok = await forgeSnpReport(pki, { measurement, reportData: Buffer.concat([nonce, Buffer.alloc(32)]) });
  await verifyEvidence({ type: 'sev-snp', report: ok, endorsementCert: der(pki.vcek.cert) }, reference, opts(nonce));
});

test('debug and migration-agent policies are refused unless the reference allows them', async () => {
  const nonce = randomBytes(32);
  const reportData = Buffer.concat([nonce, Buffer.alloc(32)]);
  const debug = await forgeSnpReport(pki, { measurement, reportData, policy: 0x30000n | (1n << 19n) });
  await assert.rejects(verifyEvidence({ type: 'sev-snp', report: debug, endorsementCert: der(pki.vcek.cert) }, reference, opts(nonce)), AttestationPolicyViolation);
  await verifyEvidence({ type: 'sev-snp', report: debug, endorsementCert: der(pki.vcek.cert) }, { ...reference, allowDebug: true }, opts(nonce));
  const ma = await forgeSnpReport(pki, { measurement, reportData, policy: 0x30000n | (1n << 18n) });
  await assert.rejects(verifyEvidence({ type: 'sev-snp', report: ma, endorsementCert: der(pki.vcek.cert) }, reference, opts(nonce)), AttestationPolicyViolation);
});

test('a report endorsed by the test PKI is refused when only the real AMD ARKs are pinned', async () => {
  const nonce = randomBytes(32);
  const report = await forgeSnpReport(pki, { measurement, reportData: Buffer.concat([nonce, Buffer.alloc(32)]) });
  await assert.rejects(
    verifyEvidence({ type: 'sev-snp', report, endorsementCert: der(pki.vcek.cert), intermediates: [der(pki.ask.cert)] }, reference, { ...opts(nonce), trust: realTrust() }),
    AttestationChainInvalid,
  );
});

// Issue 21: a reference whose launch measurement is zeros pins no image; a guest reporting that value verifies
// against it (the verifier compares what is pinned), but no model key follows.
test('a guest verified against a reference with no launch measurement gets no model key', async () => {
  const nonce = randomBytes(32);
  const guest = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const spki = guest.publicKey.export({ format: 'der', type: 'spki' }) as Buffer;
  const zeros = Buffer.alloc(48);
  const unmeasured: SevSnpReference = { type: 'sev-snp', measurement: zeros.toString('hex') };
  const report = await forgeSnpReport(pki, { measurement: zeros, reportData: bindKey(nonce, spki) });
  const v = await verifyEvidence({ type: 'sev-snp', report, endorsementCert: der(pki.vcek.cert), publicKey: spki }, unmeasured, opts(nonce));
  const { keyring } = tmpKeyring();
  await assert.rejects(
    releaseModelKey(await wrapModelKey(keyring, { keyId: 'k', modelId: 'm', tenant: 'default' }, randomBytes(32)), v, unmeasured, { keyring, modelId: 'm', now: T0, maxEvidenceAgeMs: 60_000 }),
    (e: unknown) => e instanceof KeyReleaseReferenceUnmeasured && e.code === 'key_release_reference_unmeasured' && /launch measurement/.test(e.message),
  );
});
