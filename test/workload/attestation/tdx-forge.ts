// Intel TDX DCAP quotes (v4, v5) built from scratch against a throwaway "Intel" PKI generated per run
// (root → PCK Platform CA → PCK leaf, ECDSA P-256 / SHA-256, as Intel's): QE report signed by the PCK
// key and certifying a fresh attestation key, quote signed by that key. Laid out byte for byte as the
// verifier's parser expects (src/workload/attestation/tdx/quote.ts), so every check can be provoked.
//
// Collateral too (tdx-collateral.test.ts): the PCK leaf carries Intel's SGX extensions (FMSPC, PCE-ID, TCB
// components, PCESVN), a test "Intel SGX TCB Signing" certificate issued by the test root signs TCB Info and
// QE identity bodies laid out as Intel PCS returns them, and CRLs are signed by the test Platform CA / root.
import { createHash, createPrivateKey, generateKeyPairSync, sign, webcrypto, type KeyObject } from 'node:crypto';
import 'reflect-metadata';
import * as asn1js from 'asn1js';
import {
  BasicConstraintsExtension,
  Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  X509Certificate,
  X509CertificateGenerator,
  X509CrlGenerator,
  type X509Crl,
} from '@peculiar/x509';

const subtle = webcrypto.subtle;
const ES256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const HOUR = 3_600_000;

export interface P256Issued {
  cert: X509Certificate;
  keys: webcrypto.CryptoKeyPair;
}

export interface TdxPki {
  root: P256Issued;
  ca: P256Issued;
  pck: P256Issued;
  /** The test "Intel SGX TCB Signing" certificate (root → end entity), signs TCB Info and QE identity. */
  tcbSigning: P256Issued;
  /** The SGX extension values carried by `pck`. */
  sgx: SgxFields;
}

/** What a PCK certificate's SGX extensions (OID 1.2.840.113741.1.13.1) certify. */
export interface SgxFields {
  fmspc: string;
  pceId: string;
  cpuSvnComponents: number[];
  pceSvn: number;
  sgxType: number;
}

export const DEFAULT_SGX: SgxFields = {
  fmspc: 'a0b0c0000000',
  pceId: '0000',
  cpuSvnComponents: [4, 4, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0],
  pceSvn: 13,
  sgxType: 1,
};

const SGX_OID = '1.2.840.113741.1.13.1';

/** DER of the SGX extensions as Intel lays them out (PPID, TCB {comp01..16, PCESVN, CPUSVN}, PCE-ID, FMSPC, SGX type). */
export function encodeSgxExtensions(f: SgxFields, o: { dropFmspc?: boolean; duplicateFmspc?: boolean } = {}): ArrayBuffer {
  const pair = (oid: string, value: asn1js.AsnType) => new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid }), value] });
  const octets = (hex: string) => new asn1js.OctetString({ valueHex: new Uint8Array(Buffer.from(hex, 'hex')) });
  const tcb = [
    ...f.cpuSvnComponents.map((v, i) => pair(`${SGX_OID}.2.${i + 1}`, new asn1js.Integer({ value: v }))),
    pair(`${SGX_OID}.2.17`, new asn1js.Integer({ value: f.pceSvn })),
    pair(`${SGX_OID}.2.18`, octets(Buffer.from(f.cpuSvnComponents).toString('hex'))),
  ];
  const fmspc = pair(`${SGX_OID}.4`, octets(f.fmspc));
  return new asn1js.Sequence({
    value: [
      pair(`${SGX_OID}.1`, octets('11'.repeat(16))),
      pair(`${SGX_OID}.2`, new asn1js.Sequence({ value: tcb })),
      pair(`${SGX_OID}.3`, octets(f.pceId)),
      ...(o.dropFmspc ? [] : [fmspc]),
      ...(o.duplicateFmspc ? [pair(`${SGX_OID}.4`, octets(f.fmspc))] : []),
      pair(`${SGX_OID}.5`, new asn1js.Enumerated({ value: f.sgxType })),
    ],
  }).toBER();
}

async function p256(): Promise<webcrypto.CryptoKeyPair> {
  return (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

/** root (pathLen 1) → PCK Platform CA (pathLen 0) → PCK leaf, all valid base ± 1 day unless told otherwise. */
export async function createTdxPki(
  base: number,
  o: { rootName?: string | Name; pckNotAfter?: number; sgx?: Partial<SgxFields>; sgxExtensionDer?: ArrayBuffer | null } = {},
): Promise<TdxPki> {
  const sgx: SgxFields = { ...DEFAULT_SGX, ...(o.sgx ?? {}) };
  const notBefore = new Date(base - 24 * HOUR);
  const notAfter = new Date(base + 24 * HOUR);
  const rootKeys = await p256();
  const root: P256Issued = {
    keys: rootKeys,
    cert: await X509CertificateGenerator.createSelfSigned({
      name: o.rootName ?? 'CN=Test SGX Root CA, O=Warden Test',
      keys: rootKeys,
      notBefore,
      notAfter,
      signingAlgorithm: ES256,
      extensions: [new BasicConstraintsExtension(true, 1, true), new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true)],
    }),
  };
  const caKeys = await p256();
  const ca: P256Issued = {
    keys: caKeys,
    cert: await X509CertificateGenerator.create({
      subject: 'CN=Test SGX PCK Platform CA, O=Warden Test',
      issuer: root.cert.subject,
      publicKey: caKeys.publicKey,
      signingKey: rootKeys.privateKey,
      notBefore,
      notAfter,
      signingAlgorithm: ES256,
      extensions: [new BasicConstraintsExtension(true, 0, true), new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true)],
    }),
  };
  const pckKeys = await p256();
  const pck: P256Issued = {
    keys: pckKeys,
    cert: await X509CertificateGenerator.create({
      subject: 'CN=Test SGX PCK Certificate, O=Warden Test',
      issuer: ca.cert.subject,
      publicKey: pckKeys.publicKey,
      signingKey: caKeys.privateKey,
      notBefore,
      notAfter: new Date(o.pckNotAfter ?? base + 24 * HOUR),
      signingAlgorithm: ES256,
      extensions: [
        new BasicConstraintsExtension(false, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation, true),
        ...(o.sgxExtensionDer === null ? [] : [new Extension(SGX_OID, false, o.sgxExtensionDer ?? encodeSgxExtensions(sgx))]),
      ],
    }),
  };
  const tcbSigning = await issueTcbSigning(root, notBefore, notAfter);
  return { root, ca, pck, tcbSigning, sgx };
}

/** A test "Intel SGX TCB Signing" certificate: end entity under `root`, digitalSignature. */
export async function issueTcbSigning(root: P256Issued, notBefore: Date, notAfter: Date, subject = 'CN=Test SGX TCB Signing, O=Warden Test'): Promise<P256Issued> {
  const keys = await p256();
  return {
    keys,
    cert: await X509CertificateGenerator.create({
      subject,
      issuer: root.cert.subject,
      publicKey: keys.publicKey,
      signingKey: root.keys.privateKey,
      notBefore,
      notAfter,
      signingAlgorithm: ES256,
      extensions: [new BasicConstraintsExtension(false, undefined, true), new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation, true)],
    }),
  };
}

async function nodeKey(k: webcrypto.CryptoKey): Promise<KeyObject> {
  return createPrivateKey({ key: Buffer.from(await subtle.exportKey('pkcs8', k)), format: 'der', type: 'pkcs8' });
}

export interface TdFields {
  mrtd: Buffer;
  reportData: Buffer;
  rtmrs?: [Buffer, Buffer, Buffer, Buffer];
  mrseam?: Buffer;
  mrconfigid?: Buffer;
  mrowner?: Buffer;
  mrownerconfig?: Buffer;
  teeTcbSvn?: Buffer;
  /** 8 bytes; byte 0 bit 0 = DEBUG. Default 0x10000000 little-endian (SEPT_VE_DISABLE), not debug. */
  tdAttributes?: Buffer;
}

export interface QuoteOptions {
  version?: 4 | 5;
  /** v5 only: 2 (TDX 1.0) or 3 (TDX 1.5). */
  bodyType?: 2 | 3;
  qeAuthData?: Buffer;
  /** The QE report fields the verifier pins as Intel's TD QE identity. */
  qeMrSigner?: Buffer;
  qeIsvProdId?: number;
  qeAttributes?: Buffer;
  /** QE report ISVSVN (default 4). */
  qeIsvSvn?: number;
  /** Certify this attestation key in the QE report but sign the quote with another one. */
  signWithOtherKey?: boolean;
  /** PEM chain to embed instead of leaf ‖ CA ‖ root. */
  chainPem?: string;
  /** Appended after the signature data (unsigned). */
  trailing?: Buffer;
}

export const INTEL_TD_QE_MRSIGNER = Buffer.from('dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5', 'hex');
export const DEFAULT_TEE_TCB_SVN = Buffer.from('05010200000000000000000000000000', 'hex');

const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

export function tdReportBody(f: TdFields, bodyType: 2 | 3): Buffer {
  const z48 = Buffer.alloc(48);
  const parts = [
    f.teeTcbSvn ?? DEFAULT_TEE_TCB_SVN,
    f.mrseam ?? Buffer.alloc(48, 0x5e),
    z48, // mrsignerseam
    Buffer.alloc(8), // seam_attributes
    f.tdAttributes ?? Buffer.from('0000001000000000', 'hex'),
    Buffer.from('e702060000000000', 'hex'), // xfam
    f.mrtd,
    f.mrconfigid ?? z48,
    f.mrowner ?? z48,
    f.mrownerconfig ?? z48,
    ...(f.rtmrs ?? [Buffer.alloc(48, 0xa0), Buffer.alloc(48, 0xa1), Buffer.alloc(48, 0xa2), z48]),
    f.reportData,
  ];
  if (bodyType === 3) parts.push(Buffer.alloc(16, 0x02), Buffer.alloc(48, 0x3d)); // tee_tcb_svn2, mrservicetd
  const body = Buffer.concat(parts);
  if (body.length !== (bodyType === 3 ? 648 : 584)) throw new Error(`forge: body is ${body.length} bytes`);
  return body;
}

/** A complete quote. Returns the bytes and where its parts start, for tampering tests. */
export async function forgeTdxQuote(pki: TdxPki, f: TdFields, o: QuoteOptions = {}): Promise<{ quote: Buffer; offsets: Record<string, number> }> {
  const version = o.version ?? 4;
  const bodyType = version === 4 ? 2 : (o.bodyType ?? 3);
  const header = Buffer.concat([u16(version), u16(2), u32(0x81), Buffer.alloc(4), Buffer.from('939a7233f79c4ca9940a0db3957f0607', 'hex'), Buffer.alloc(20)]);
  const body = tdReportBody(f, bodyType);
  const descriptor = version === 5 ? Buffer.concat([u16(bodyType), u32(body.length)]) : Buffer.alloc(0);
  const signed = Buffer.concat([header, descriptor, body]);

  const ak = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = ak.publicKey.export({ format: 'jwk' });
  const akRaw = Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  const signer = o.signWithOtherKey ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey : ak.privateKey;
  const quoteSig = sign('sha256', signed, { key: signer, dsaEncoding: 'ieee-p1363' });

  const qeAuth = o.qeAuthData ?? Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
  const qe = Buffer.alloc(384);
  Buffer.alloc(16, 0x0b).copy(qe, 0); // cpu_svn
  (o.qeAttributes ?? Buffer.from('1500000000000000e700000000000000', 'hex')).copy(qe, 48);
  Buffer.alloc(32, 0xee).copy(qe, 64); // mr_enclave
  (o.qeMrSigner ?? INTEL_TD_QE_MRSIGNER).copy(qe, 128);
  qe.writeUInt16LE(o.qeIsvProdId ?? 2, 256);
  qe.writeUInt16LE(o.qeIsvSvn ?? 4, 258);
  createHash('sha256').update(akRaw).update(qeAuth).digest().copy(qe, 320);
  const qeSig = sign('sha256', qe, { key: await nodeKey(pki.pck.keys.privateKey), dsaEncoding: 'ieee-p1363' });

  const chain = Buffer.from(o.chainPem ?? [pki.pck.cert, pki.ca.cert, pki.root.cert].map((c) => c.toString('pem')).join('\n') + '\n\0', 'latin1');
  const certData = Buffer.concat([qe, qeSig, u16(qeAuth.length), qeAuth, u16(5), u32(chain.length), chain]);
  const sigData = Buffer.concat([quoteSig, akRaw, u16(6), u32(certData.length), certData]);
  const quote = Buffer.concat([signed, u32(sigData.length), sigData, o.trailing ?? Buffer.alloc(0)]);

  const bodyAt = header.length + descriptor.length;
  const sigAt = signed.length + 4;
  const qeAt = sigAt + 64 + 64 + 6;
  return {
    quote,
    offsets: {
      body: bodyAt,
      mrtd: bodyAt + 136,
      reportData: bodyAt + 520,
      sigDataLen: signed.length,
      signature: sigAt,
      attestationKey: sigAt + 64,
      certDataType: sigAt + 128,
      qeReport: qeAt,
      qeReportSignature: qeAt + 384,
      qeAuthLen: qeAt + 448,
      qeAuthData: qeAt + 450,
      pckChain: qeAt + 450 + qeAuth.length + 6,
    },
  };
}

/** report_data binding a workload key: SHA-512(nonce ‖ SPKI DER), as for SEV-SNP. */
export function bindKey(nonce: Buffer, spki: Buffer): Buffer {
  return createHash('sha512').update(nonce).update(spki).digest();
}

/** report_data carrying the bare nonce: nonce ‖ zero padding to 64 bytes. */
export function padNonce(nonce: Buffer): Buffer {
  return Buffer.concat([nonce, Buffer.alloc(64 - nonce.length)]);
}

// ---------------------------------------------------------------------------------------------------------
// Collateral, laid out as Intel PCS serves it.

const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
const comps = (svns: number[]) => svns.map((svn) => ({ svn }));

export interface ForgedTcbLevel {
  sgx: number[];
  pceSvn: number;
  tdx: number[];
  status: string;
  tcbDate?: string;
  advisoryIDs?: string[];
}

export interface ForgedModuleIdentity {
  id: string;
  mrsigner?: string;
  attributes?: string;
  attributesMask?: string;
  levels: { isvsvn: number; status: string; advisoryIDs?: string[] }[];
}

/** A TCB Info body object ("tcbInfo" member), TDX v3. */
export function tcbInfoBody(o: {
  fmspc: string;
  issueDate: number;
  nextUpdate: number;
  levels: ForgedTcbLevel[];
  modules?: ForgedModuleIdentity[] | null;
  pceId?: string;
  id?: string;
  version?: number;
}): Record<string, unknown> {
  const zeros48 = '00'.repeat(48);
  return {
    id: o.id ?? 'TDX',
    version: o.version ?? 3,
    issueDate: iso(o.issueDate),
    nextUpdate: iso(o.nextUpdate),
    fmspc: o.fmspc,
    pceId: o.pceId ?? '0000',
    tcbType: 0,
    tcbEvaluationDataNumber: 17,
    tdxModule: { mrsigner: zeros48, attributes: '0000000000000000', attributesMask: 'FFFFFFFFFFFFFFFF' },
    ...(o.modules === null
      ? {}
      : {
          tdxModuleIdentities: (o.modules ?? [{ id: 'TDX_01', levels: [{ isvsvn: 4, status: 'UpToDate' }] }]).map((m) => ({
            id: m.id,
            mrsigner: m.mrsigner ?? zeros48,
            attributes: m.attributes ?? '0000000000000000',
            attributesMask: m.attributesMask ?? 'FFFFFFFFFFFFFFFF',
            tcbLevels: m.levels.map((l) => ({ tcb: { isvsvn: l.isvsvn }, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: l.status, ...(l.advisoryIDs ? { advisoryIDs: l.advisoryIDs } : {}) })),
          })),
        }),
    tcbLevels: o.levels.map((l) => ({
      tcb: { sgxtcbcomponents: comps(l.sgx), pcesvn: l.pceSvn, tdxtcbcomponents: comps(l.tdx) },
      tcbDate: l.tcbDate ?? '2024-03-13T00:00:00Z',
      tcbStatus: l.status,
      ...(l.advisoryIDs ? { advisoryIDs: l.advisoryIDs } : {}),
    })),
  };
}

/** A TD QE identity body object ("enclaveIdentity" member), v2, matching the forged QE report. */
export function qeIdentityBody(o: {
  issueDate: number;
  nextUpdate: number;
  levels?: { isvsvn: number; status: string; advisoryIDs?: string[] }[];
  mrsigner?: string;
  isvprodid?: number;
}): Record<string, unknown> {
  return {
    id: 'TD_QE',
    version: 2,
    issueDate: iso(o.issueDate),
    nextUpdate: iso(o.nextUpdate),
    tcbEvaluationDataNumber: 17,
    miscselect: '00000000',
    miscselectMask: 'FFFFFFFF',
    attributes: '11000000000000000000000000000000',
    attributesMask: 'FBFFFFFFFFFFFFFF0000000000000000',
    mrsigner: o.mrsigner ?? INTEL_TD_QE_MRSIGNER.toString('hex').toUpperCase(),
    isvprodid: o.isvprodid ?? 2,
    tcbLevels: (o.levels ?? [{ isvsvn: 4, status: 'UpToDate' }]).map((l) => ({
      tcb: { isvsvn: l.isvsvn },
      tcbDate: '2024-03-13T00:00:00Z',
      tcbStatus: l.status,
      ...(l.advisoryIDs ? { advisoryIDs: l.advisoryIDs } : {}),
    })),
  };
}

/** {"<member>": <body>, "signature": "<hex r ‖ s>"}: the signature covers exactly the member's JSON bytes. */
export async function signCollateral(member: 'tcbInfo' | 'enclaveIdentity', body: Record<string, unknown>, signer: P256Issued): Promise<Buffer> {
  const json = JSON.stringify(body);
  const sig = sign('sha256', Buffer.from(json), { key: await nodeKey(signer.keys.privateKey), dsaEncoding: 'ieee-p1363' });
  return Buffer.from(`{"${member}":${json},"signature":"${sig.toString('hex')}"}`);
}

/** A CRL signed by `issuer` listing `serials` (hex). */
export async function forgeCrl(issuer: P256Issued, o: { serials?: string[]; thisUpdate: number; nextUpdate: number }): Promise<X509Crl> {
  return X509CrlGenerator.create({
    issuer: issuer.cert.subjectName,
    thisUpdate: new Date(o.thisUpdate),
    nextUpdate: new Date(o.nextUpdate),
    signingAlgorithm: ES256,
    signingKey: issuer.keys.privateKey,
    entries: (o.serials ?? []).map((serialNumber) => ({ serialNumber, revocationDate: new Date(o.thisUpdate) })),
  });
}
