// TDX quotes forged against a test "Intel" PKI, so the whole of verifyTdxEvidence runs: reference values,
// debug and TEE_TCB_SVN policy, report_data binding of the nonce and the workload key, the QE identity and
// attestation-key certification, the PCK chain, every length of the layout — and a key release at the end.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { compactDecrypt } from 'jose';
import { verifyEvidence } from '../../../src/workload/attestation/verify-evidence.js';
import { verifyTdxEvidence, verifyTdxQuoteAuthenticity } from '../../../src/workload/attestation/tdx/verify.js';
import { parseTdxQuote } from '../../../src/workload/attestation/tdx/quote.js';
import {
  AttestationChainInvalid,
  AttestationConfigurationInvalid,
  AttestationKeyBindingInvalid,
  AttestationMalformed,
  AttestationMeasurementMismatch,
  AttestationNonceMismatch,
  AttestationPolicyViolation,
  AttestationSignatureInvalid,
} from '../../../src/workload/attestation/errors.js';
import { assertReferenceUsable } from '../../../src/workload/attestation/reference.js';
import { createTrustAnchors } from '../../../src/workload/attestation/trust.js';
import type { TdxEvidence, TdxReference, TrustAnchors } from '../../../src/workload/attestation/types.js';
import { releaseModelKey } from '../../../src/workload/key-release.js';
import { wrapModelKey } from '../../../src/workload/key-release-envelope.js';
import { KeyReleaseReferenceUnmeasured } from '../../../src/workload/key-release-errors.js';
import { parseEvidenceJson } from '../../../src/workload/attestation/evidence-fetch.js';
import { referenceFromRequirement } from '../../../src/workload/attestation/requirement.js';
import { bindKey, createTdxPki, forgeTdxQuote, padNonce, type TdFields, type TdxPki } from './tdx-forge.js';
import { tmpKeyring } from '../../helpers/keyring.js';

const T0 = Date.UTC(2025, 5, 1, 12);
const mrtd = Buffer.alloc(48, 0x6d);
const rtmrs: [Buffer, Buffer, Buffer, Buffer] = [Buffer.alloc(48, 0x10), Buffer.alloc(48, 0x11), Buffer.alloc(48, 0x12), Buffer.alloc(48, 0x13)];
const mrseam = Buffer.alloc(48, 0x5e);
const reference: TdxReference = { type: 'tdx', mrtd: mrtd.toString('hex') };
const fullReference: TdxReference = {
  type: 'tdx',
  mrtd: mrtd.toString('hex').toUpperCase(),
  rtmrs: { '0': rtmrs[0].toString('hex'), '1': rtmrs[1].toString('hex'), '2': rtmrs[2].toString('hex'), '3': rtmrs[3].toString('hex') },
  mrseam: mrseam.toString('hex'),
  mrconfigid: '00'.repeat(48),
  mrowner: '00'.repeat(48),
  mrownerconfig: '00'.repeat(48),
  minTeeTcbSvn: '05010200000000000000000000000000',
};
let pki: TdxPki;
let trust: TrustAnchors;

before(async () => {
  pki = await createTdxPki(T0);
  trust = createTrustAnchors({ intelRootsPem: [pki.root.cert.toString('pem')] });
});

const opts = (nonce: Buffer, o: { trust?: TrustAnchors; now?: number } = {}) => ({ nonce, now: o.now ?? T0, maxAgeMs: 60_000, trust: o.trust ?? trust });
const fields = (reportData: Buffer, extra: Partial<TdFields> = {}): TdFields => ({ mrtd, rtmrs, mrseam, reportData, ...extra });
const ev = (quote: Buffer, publicKey?: Buffer): TdxEvidence => ({ type: 'tdx', quote, ...(publicKey ? { publicKey } : {}) });

test('v4, v5 (TDX 1.0 body) and v5 (TDX 1.5 body) quotes with matching references verify through the dispatcher', async () => {
  for (const [version, bodyType] of [[4, 2], [5, 2], [5, 3]] as const) {
    const nonce = randomBytes(32);
    const { quote } = await forgeTdxQuote(pki, fields(padNonce(nonce)), { version, bodyType });
    for (const ref of [reference, fullReference]) {
      const v = await verifyEvidence(ev(quote), ref, opts(nonce));
      assert.equal(v.type, 'tdx');
      assert.equal(v.measurements['mrtd'], mrtd.toString('hex'));
      assert.equal(v.measurements['rtmr2'], rtmrs[2].toString('hex'));
      assert.equal(v.measurements['mrseam'], mrseam.toString('hex'));
      assert.equal(v.measurements['td_attributes'], '0000001000000000');
      assert.equal(v.measurements['tee_tcb_svn'], '05010200000000000000000000000000');
      assert.equal(v.measurements['mrservicetd'] !== undefined, bodyType === 3, `${version}/${bodyType}`);
      assert.equal(v.nonce, nonce.toString('hex'));
      assert.equal(v.issuedAt, T0);
      assert.equal(v.publicKey, null);
      assert.equal(v.platform['quoteVersion'], version);
      assert.equal(v.platform['tdxModule'], bodyType === 3 ? '1.5' : '1.0');
      assert.equal(v.platform['pckSubject'], pki.pck.cert.subject);
      assert.equal(v.platform['pckSerial'], pki.pck.cert.serialNumber);
      assert.equal(v.platform['tcbStatus'], 'not-evaluated');
    }
  }
});

test('a quote answers only its own reference: wrong mrtd, rtmr, mrseam, mrconfigid are mismatches', async () => {
  const nonce = randomBytes(32);
  const { quote } = await forgeTdxQuote(pki, fields(padNonce(nonce)));
  const other = 'ab'.repeat(48);
  for (const ref of [
    { ...fullReference, mrtd: other },
    { ...fullReference, rtmrs: { ...fullReference.rtmrs, '3': other } },
    { ...reference, rtmrs: { '0': rtmrs[1].toString('hex') } },
    { ...fullReference, mrseam: other },
    { ...fullReference, mrconfigid: other },
    { ...fullReference, mrowner: other },
    { ...fullReference, mrownerconfig: other },
  ]) {
    await assert.rejects(verifyEvidence(ev(quote), ref, opts(nonce)), AttestationMeasurementMismatch, JSON.stringify(ref));
  }
  // A tdx quote against another kind of reference is refused before anything else.
  await assert.rejects(verifyEvidence(ev(quote), { type: 'sev-snp', measurement: mrtd.toString('hex') }, opts(nonce)), AttestationMalformed);
});

test('a debug TD is refused unless the reference allows debugging', async () => {
  const nonce = randomBytes(32);
  const { quote } = await forgeTdxQuote(pki, fields(padNonce(nonce), { tdAttributes: Buffer.from('0100001000000000', 'hex') }));
  await assert.rejects(verifyEvidence(ev(quote), reference, opts(nonce)), (e: Error) => e instanceof AttestationPolicyViolation && /debug/i.test(e.message));
  const v = await verifyEvidence(ev(quote), { ...reference, allowDebug: true }, opts(nonce));
  assert.equal(v.platform['debug'], true);
  // Other attribute bits are not DEBUG.
  const { quote: q2 } = await forgeTdxQuote(pki, fields(padNonce(nonce), { tdAttributes: Buffer.from('fe00001000000080', 'hex') }));
  await verifyEvidence(ev(q2), reference, opts(nonce));
});

test('TEE_TCB_SVN below the pinned minimum, in any byte, is refused', async () => {
  const nonce = randomBytes(32);
  const { quote } = await forgeTdxQuote(pki, fields(padNonce(nonce), { teeTcbSvn: Buffer.from('05010200000000000000000000000000', 'hex') }));
  for (const min of ['06000000000000000000000000000000', '05020000000000000000000000000000', '00000300000000000000000000000000', '000000000000000000000000000000ff']) {
    await assert.rejects(verifyEvidence(ev(quote), { ...reference, minTeeTcbSvn: min }, opts(nonce)), AttestationPolicyViolation, min);
  }
  await verifyEvidence(ev(quote), { ...reference, minTeeTcbSvn: '05010200000000000000000000000000' }, opts(nonce));
  await verifyEvidence(ev(quote), { ...reference, minTeeTcbSvn: '04000100000000000000000000000000' }, opts(nonce));
});

test('report_data must carry this challenge: another nonce, a longer one, one too long for report_data, or one too short to count', async () => {
  const nonce = randomBytes(32);
  const { quote } = await forgeTdxQuote(pki, fields(padNonce(nonce)));
  await assert.rejects(verifyEvidence(ev(quote), reference, opts(randomBytes(32))), AttestationNonceMismatch);
  await assert.rejects(verifyEvidence(ev(quote), reference, opts(Buffer.concat([nonce, Buffer.from([1])]))), AttestationNonceMismatch);
  await assert.rejects(verifyEvidence(ev(quote), reference, opts(Buffer.alloc(65, 1))), AttestationNonceMismatch);
  await assert.rejects(verifyEvidence(ev(quote), reference, opts(Buffer.alloc(8, 1))), AttestationConfigurationInvalid);
});

test('report_data = SHA-512(nonce ‖ SPKI) binds the TD key, and the model key is released to that key only', async () => {
  const nonce = randomBytes(32);
  const td = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const spki = td.publicKey.export({ format: 'der', type: 'spki' }) as Buffer;
  const { quote } = await forgeTdxQuote(pki, fields(bindKey(nonce, spki)), { version: 5 });
  const v = await verifyEvidence(ev(quote, spki), fullReference, opts(nonce));
  assert.ok(v.publicKey?.equals(td.publicKey));
  const { keyring } = tmpKeyring();
  const dataKey = randomBytes(32);
  const r = await releaseModelKey(await wrapModelKey(keyring, { keyId: 'k', modelId: 'm', tenant: 'default' }, dataKey), v, fullReference, { keyring, modelId: 'm', now: T0, maxEvidenceAgeMs: 60_000 });
  assert.ok(Buffer.from((await compactDecrypt(r.jwe, td.privateKey)).plaintext).equals(dataKey));
});

test('a public key substituted by the host, junk as a key, or no key for a hashed report_data: refused', async () => {
  const nonce = randomBytes(32);
  const td = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }) as Buffer;
  const host = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }) as Buffer;
  const { quote } = await forgeTdxQuote(pki, fields(bindKey(nonce, td)));
  await assert.rejects(verifyEvidence(ev(quote, host), reference, opts(nonce)), AttestationNonceMismatch);
  await assert.rejects(verifyEvidence(ev(quote, Buffer.from('junk')), reference, opts(nonce)), AttestationKeyBindingInvalid);
  await assert.rejects(verifyEvidence(ev(quote), reference, opts(nonce)), AttestationNonceMismatch);
  // The right key with another nonce is a replay.
  await assert.rejects(verifyEvidence(ev(quote, td), reference, opts(randomBytes(32))), AttestationNonceMismatch);
  // A quote carrying only the nonce does not bind a claimed key.
  const { quote: bare } = await forgeTdxQuote(pki, fields(padNonce(nonce)));
  await assert.rejects(verifyEvidence(ev(bare, td), reference, opts(nonce)), AttestationNonceMismatch);
});

test('the QE must certify the key that signed the quote, and must be Intel\'s TD QE', async () => {
  const nonce = randomBytes(32);
  const rd = padNonce(nonce);
  const other = await forgeTdxQuote(pki, fields(rd), { signWithOtherKey: true });
  await assert.rejects(verifyEvidence(ev(other.quote), reference, opts(nonce)), (e: Error) => e instanceof AttestationSignatureInvalid && /quote signature/.test(e.message));
  const notIntel = await forgeTdxQuote(pki, fields(rd), { qeMrSigner: Buffer.alloc(32, 0x42) });
  await assert.rejects(verifyEvidence(ev(notIntel.quote), reference, opts(nonce)), (e: Error) => e instanceof AttestationChainInvalid && /MRSIGNER/.test(e.message));
  const sgxQe = await forgeTdxQuote(pki, fields(rd), { qeIsvProdId: 1 });
  await assert.rejects(verifyEvidence(ev(sgxQe.quote), reference, opts(nonce)), (e: Error) => e instanceof AttestationChainInvalid && /product 1/.test(e.message));
  const debugQe = await forgeTdxQuote(pki, fields(rd), { qeAttributes: Buffer.from('1700000000000000e700000000000000', 'hex') });
  await assert.rejects(verifyEvidence(ev(debugQe.quote), reference, opts(nonce)), (e: Error) => e instanceof AttestationChainInvalid && /ATTRIBUTES/.test(e.message));
  // The empty QE auth data is legal and still bound.
  const noAuth = await forgeTdxQuote(pki, fields(rd), { qeAuthData: Buffer.alloc(0) });
  await verifyEvidence(ev(noAuth.quote), reference, opts(nonce));
});

test('flipped bytes in body, quote signature, QE report, QE report signature, QE auth data: each refused', async () => {
  const nonce = randomBytes(32);
  const { quote, offsets } = await forgeTdxQuote(pki, fields(padNonce(nonce)), { version: 5, bodyType: 3 });
  await verifyEvidence(ev(quote), reference, opts(nonce));
  const cases: [string, number, RegExp][] = [
    ['body', offsets['mrtd']!, /quote signature/],
    ['report_data', offsets['reportData']! + 63, /quote signature/],
    ['mrservicetd (TDX 1.5)', offsets['body']! + 647, /quote signature/],
    ['quote signature', offsets['signature']! + 1, /quote signature/],
    ['QE report', offsets['qeReport']! + 200, /QE report signature/],
    ['QE report signature', offsets['qeReportSignature']! + 33, /QE report signature/],
    ['QE auth data', offsets['qeAuthData']!, /does not certify/],
  ];
  for (const [what, at, msg] of cases) {
    const q = Buffer.from(quote);
    q[at] = q[at]! ^ 0x80;
    await assert.rejects(verifyEvidence(ev(q), reference, opts(nonce)), (e: Error) => e instanceof AttestationSignatureInvalid && msg.test(e.message), what);
  }
});

test('the PCK chain: a foreign root, an expired or not-yet-valid PCK certificate, a chain missing its CA, a CA as leaf', async () => {
  const nonce = randomBytes(32);
  const { quote } = await forgeTdxQuote(pki, fields(padNonce(nonce)));
  const foreign = await createTdxPki(T0);
  await assert.rejects(verifyEvidence(ev(quote), reference, opts(nonce, { trust: createTrustAnchors({ intelRootsPem: [foreign.root.cert.toString('pem')] }) })), AttestationChainInvalid);
  await assert.rejects(verifyEvidence(ev(quote), reference, opts(nonce, { now: T0 + 25 * 3_600_000 })), (e: Error) => e instanceof AttestationChainInvalid && /expired/.test(e.message));
  await assert.rejects(verifyEvidence(ev(quote), reference, opts(nonce, { now: T0 - 25 * 3_600_000 })), (e: Error) => e instanceof AttestationChainInvalid && /not valid before/.test(e.message));

  const shortLived = await createTdxPki(T0, { pckNotAfter: T0 + 60_000 });
  const t2 = createTrustAnchors({ intelRootsPem: [shortLived.root.cert.toString('pem')] });
  const { quote: q2 } = await forgeTdxQuote(shortLived, fields(padNonce(nonce)));
  await verifyEvidence(ev(q2), reference, opts(nonce, { trust: t2 }));
  await assert.rejects(verifyEvidence(ev(q2), reference, opts(nonce, { trust: t2, now: T0 + 61_000 })), (e: Error) => e instanceof AttestationChainInvalid && /expired/.test(e.message));

  const pem = (...cs: { toString(f: 'pem'): string }[]) => cs.map((c) => c.toString('pem')).join('\n');
  const noCa = await forgeTdxQuote(pki, fields(padNonce(nonce)), { chainPem: pem(pki.pck.cert, pki.root.cert) });
  await assert.rejects(verifyEvidence(ev(noCa.quote), reference, opts(nonce)), (e: Error) => e instanceof AttestationChainInvalid && /holds 0/.test(e.message));
  const caLeaf = await forgeTdxQuote(pki, fields(padNonce(nonce)), { chainPem: pem(pki.ca.cert, pki.root.cert) });
  await assert.rejects(verifyEvidence(ev(caLeaf.quote), reference, opts(nonce)), AttestationChainInvalid);
  const rootOnly = await forgeTdxQuote(pki, fields(padNonce(nonce)), { chainPem: pem(pki.root.cert) });
  await assert.rejects(verifyEvidence(ev(rootOnly.quote), reference, opts(nonce)), (e: Error) => e instanceof AttestationChainInvalid && /self-issued/.test(e.message));
  // Without the root in the quote the chain still verifies: only the pinned root is ever used.
  const noRoot = await forgeTdxQuote(pki, fields(padNonce(nonce)), { chainPem: pem(pki.pck.cert, pki.ca.cert) });
  await verifyEvidence(ev(noRoot.quote), reference, opts(nonce));
  const notPem = await forgeTdxQuote(pki, fields(padNonce(nonce)), { chainPem: 'no certificates here' });
  await assert.rejects(verifyEvidence(ev(notPem.quote), reference, opts(nonce)), AttestationChainInvalid);
});

test('layout: wrong version, TEE type, key type, body type, certification data types, and every inconsistent length are malformed', async () => {
  const nonce = randomBytes(32);
  const v4 = await forgeTdxQuote(pki, fields(padNonce(nonce)));
  const v5 = await forgeTdxQuote(pki, fields(padNonce(nonce)), { version: 5, bodyType: 3 });
  const edit = (q: Buffer, f: (b: Buffer) => void) => {
    const b = Buffer.from(q);
    f(b);
    return b;
  };
  const sigLen = v4.offsets['sigDataLen']!;
  const certSizeAt = v4.offsets['certDataType']! + 2;
  const pckSizeAt = v4.offsets['pckChain']! - 4;
  const cases: [string, Buffer, RegExp][] = [
    ['version 3', edit(v4.quote, (b) => b.writeUInt16LE(3, 0)), /version 3/],
    ['SGX tee_type', edit(v4.quote, (b) => b.writeUInt32LE(0, 4)), /tee_type 0x0/],
    ['ECDSA P-384 key type', edit(v4.quote, (b) => b.writeUInt16LE(3, 2)), /attestation key type 3/],
    ['v5 SGX body', edit(v5.quote, (b) => b.writeUInt16LE(1, 48)), /body type 1/],
    ['v5 body size', edit(v5.quote, (b) => b.writeUInt32LE(584, 50)), /648 bytes/],
    ['v5 header on a v4 quote', edit(v4.quote, (b) => b.writeUInt16LE(5, 0)), /body type/],
    ['signature data longer than the quote', edit(v4.quote, (b) => b.writeUInt32LE(b.readUInt32LE(sigLen) + 1, sigLen)), /signature data length/],
    ['signature data shorter than its content', edit(v4.quote, (b) => b.writeUInt32LE(b.readUInt32LE(sigLen) - 1, sigLen)), /certification data size/],
    ['signature data absurdly long', edit(v4.quote, (b) => b.writeUInt32LE(0xffffffff, sigLen)), /signature data length/],
    ['certification data type 5 at the outer level', edit(v4.quote, (b) => b.writeUInt16LE(5, certSizeAt - 2)), /certification data type 5/],
    ['certification data size off by one', edit(v4.quote, (b) => b.writeUInt32LE(b.readUInt32LE(certSizeAt) + 1, certSizeAt)), /certification data size/],
    ['QE auth length past the end', edit(v4.quote, (b) => b.writeUInt16LE(0xffff, v4.offsets['qeAuthLen']!)), /QE auth data/],
    ['inner type 3 (PCK leaf only, encrypted PPID)', edit(v4.quote, (b) => b.writeUInt16LE(3, pckSizeAt - 2)), /inner certification data type 3/],
    ['PCK chain size off by one', edit(v4.quote, (b) => b.writeUInt32LE(b.readUInt32LE(pckSizeAt) - 1, pckSizeAt)), /PCK certification data size/],
    ['binary PCK chain', edit(v4.quote, (b) => b.writeUInt8(0xff, v4.offsets['pckChain']! + 3)), /not PEM/],
  ];
  for (const [what, q, msg] of cases) {
    assert.throws(() => parseTdxQuote(q), (e: Error) => e instanceof AttestationMalformed && msg.test(e.message), what);
    await assert.rejects(verifyEvidence(ev(q), reference, opts(nonce)), AttestationMalformed, what);
  }
  for (let n = 0; n < v4.quote.length; n += 97) {
    await assert.rejects(verifyTdxQuoteAuthenticity(v4.quote.subarray(0, n), trust, T0), AttestationMalformed, `truncated to ${n}`);
  }
  await assert.rejects(verifyTdxQuoteAuthenticity(v4.quote.subarray(0, v4.quote.length - 1), trust, T0), AttestationMalformed);
  // Unsigned padding after the signature data is ignored (quote buffers from the guest are padded).
  const padded = await forgeTdxQuote(pki, fields(padNonce(nonce)), { trailing: Buffer.alloc(3000) });
  assert.equal(parseTdxQuote(padded.quote).trailingBytes, 3000);
  await verifyEvidence(ev(padded.quote), reference, opts(nonce));
});

test('unusable TDX references are refused before any verification', async () => {
  const bad: [Partial<TdxReference>, RegExp][] = [
    [{ mrtd: '' }, /mrtd/],
    [{ mrtd: 'ab'.repeat(32) }, /mrtd/],
    [{ rtmrs: { '4': 'ab'.repeat(48) } as TdxReference['rtmrs'] }, /RTMR index "4"/],
    [{ rtmrs: { '0': 'ab'.repeat(47) } }, /rtmr0/],
    [{ mrseam: 'zz'.repeat(48) }, /mrseam/],
    [{ mrowner: 'ab' }, /mrowner/],
    [{ minTeeTcbSvn: '0501' }, /minTeeTcbSvn/],
    [{ allowDebug: 'yes' as unknown as boolean }, /allowDebug/],
  ];
  for (const [patch, msg] of bad) {
    const ref = { ...reference, ...patch } as TdxReference;
    assert.throws(() => assertReferenceUsable(ref), (e: Error) => e instanceof AttestationConfigurationInvalid && msg.test(e.message), JSON.stringify(patch));
    await assert.rejects(verifyTdxEvidence(ev(Buffer.alloc(0)), ref, opts(randomBytes(32))), AttestationConfigurationInvalid);
  }
});

test('gateway wiring: a registered tdx requirement becomes a TdxReference; the evidence endpoint JSON carries the quote in base64', async () => {
  const hex = (b: Buffer) => b.toString('hex');
  assert.deepEqual(
    referenceFromRequirement({ type: 'intel-tdx', referenceValues: { mrtd: hex(mrtd), rtmr0: hex(rtmrs[0]), RTMR2: hex(rtmrs[2]), mrseam: hex(mrseam), minTeeTcbSvn: '05010200000000000000000000000000', allowDebug: 'false' } }),
    { type: 'tdx', mrtd: hex(mrtd), rtmrs: { '0': hex(rtmrs[0]), '2': hex(rtmrs[2]) }, mrseam: hex(mrseam), minTeeTcbSvn: '05010200000000000000000000000000', allowDebug: false },
  );
  for (const [values, msg] of [
    [{ rtmr0: hex(rtmrs[0]) }, /mrtd/],
    [{ mrtd: hex(mrtd), rtmr4: hex(mrtd) }, /unknown key "rtmr4"/],
    [{ mrtd: hex(mrtd), measurement: hex(mrtd) }, /unknown key "measurement"/],
    [{ mrtd: hex(mrtd), allowDebug: 'yes' }, /true or false/],
  ] as [Record<string, string>, RegExp][]) {
    assert.throws(() => referenceFromRequirement({ type: 'tdx', referenceValues: values }), (e: Error) => e instanceof AttestationConfigurationInvalid && msg.test(e.message), JSON.stringify(values));
  }

  const nonce = randomBytes(32);
  const td = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }) as Buffer;
  const { quote } = await forgeTdxQuote(pki, fields(bindKey(nonce, td)));
  const parsed = parseEvidenceJson(Buffer.from(JSON.stringify({ type: 'tdx', quote: quote.toString('base64'), publicKey: td.toString('base64') })));
  assert.equal(parsed.type, 'tdx');
  const ref = referenceFromRequirement({ type: 'tdx', referenceValues: { mrtd: hex(mrtd), rtmr3: hex(rtmrs[3]) } });
  const v = await verifyEvidence(parsed, ref, opts(nonce));
  assert.equal(v.measurements['rtmr3'], hex(rtmrs[3]));
  for (const bad of ['{"type":"tdx"}', '{"type":"tdx","quote":""}', '{"type":"tdx","quote":"***"}', '{"type":"tdx","quote":"AAAA","publicKey":7}']) {
    assert.throws(() => parseEvidenceJson(Buffer.from(bad)), AttestationMalformed, bad);
  }
});

// Issue 21: a reference whose MRTD is zeros pins no TD image; a quote reporting that value verifies against it,
// but no model key follows.
test('a TD verified against a reference with no MRTD gets no model key', async () => {
  const nonce = randomBytes(32);
  const td = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = td.publicKey.export({ format: 'der', type: 'spki' }) as Buffer;
  const zeros = Buffer.alloc(48);
  const unmeasured: TdxReference = { type: 'tdx', mrtd: zeros.toString('hex') };
  const { quote } = await forgeTdxQuote(pki, fields(bindKey(nonce, spki), { mrtd: zeros }));
  const v = await verifyEvidence(ev(quote, spki), unmeasured, opts(nonce));
  const { keyring } = tmpKeyring();
  await assert.rejects(
    releaseModelKey(await wrapModelKey(keyring, { keyId: 'k', modelId: 'm', tenant: 'default' }, randomBytes(32)), v, unmeasured, { keyring, modelId: 'm', now: T0, maxEvidenceAgeMs: 60_000 }),
    (e: unknown) => e instanceof KeyReleaseReferenceUnmeasured && /MRTD/.test(e.message),
  );
});
