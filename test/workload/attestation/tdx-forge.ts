// Intel TDX DCAP quotes (v4, v5) built from scratch against a throwaway "Intel" PKI generated per run
// (root → PCK Platform CA → PCK leaf, ECDSA P-256 / SHA-256, as Intel's): QE report signed by the PCK
// key and certifying a fresh attestation key, quote signed by that key. Laid out byte for byte as the
// verifier's parser expects (src/workload/attestation/tdx/quote.ts), so every check can be provoked.
import { createHash, createPrivateKey, generateKeyPairSync, sign, webcrypto, type KeyObject } from 'node:crypto';
import 'reflect-metadata';
import {
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  X509Certificate,
  X509CertificateGenerator,
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
}

async function p256(): Promise<webcrypto.CryptoKeyPair> {
  return (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

/** root (pathLen 1) → PCK Platform CA (pathLen 0) → PCK leaf, all valid base ± 1 day unless told otherwise. */
export async function createTdxPki(base: number, o: { rootName?: string | Name; pckNotAfter?: number } = {}): Promise<TdxPki> {
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
      extensions: [new BasicConstraintsExtension(false, undefined, true), new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation, true)],
    }),
  };
  return { root, ca, pck };
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
  qe.writeUInt16LE(4, 258);
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
