// Intel TDX collateral: whether the platform that produced an (already authentic) quote is up to date and
// not revoked, judged against Intel PCS collateral that an operator fetched and stored — Warden downloads
// nothing. The steps follow Intel's DCAP quote appraisal (SGX-TDX-DCAP-QuoteVerificationLibrary,
// QuoteVerifier / TcbLevelCheck / TdxModuleCheck / EnclaveReportVerifier), in this order:
//
//   1. TCB Signing certificate(s): each must chain directly to the pinned Intel SGX Root CA at `now`, be an
//      end-entity certificate allowed to sign (digitalSignature), and not be listed by the Root CA CRL.
//   2. TCB Info (id "TDX", version 3) and QE identity (id "TD_QE", version 2): ECDSA P-256 / SHA-256 over the
//      exact bytes of the `tcbInfo` / `enclaveIdentity` member of the PCS body (signature = hex r ‖ s), by a
//      TCB Signing certificate of step 1; issueDate ≤ now ≤ nextUpdate. Only the signed bytes are evaluated.
//   3. CRLs: the PCK CRL is the one issued by the quote's PCK CA (same raw issuer name), signed by that CA's
//      key; the Root CA CRL is issued and signed by the pinned root; both thisUpdate ≤ now ≤ nextUpdate,
//      no unknown critical extension. The PCK leaf must not be on the PCK CRL; the PCK CA and the TCB
//      Signing certificate must not be on the Root CA CRL.
//   4. TCB Info matches the PCK: FMSPC and PCE-ID equal the PCK certificate's SGX extensions.
//   5. TDX module identity: TEE_TCB_SVN[1] (module major version) = 0 → `tdxModule`, otherwise the
//      `tdxModuleIdentities` entry "TDX_%02X" of that version (missing → refused); MRSIGNERSEAM must equal
//      its mrsigner and SEAM_ATTRIBUTES & attributesMask its attributes.
//   6. TCB level: the first level, in the signed order, whose sgxtcbcomponents are all ≤ the PCK's SGX TCB
//      components and pcesvn ≤ the PCK's PCESVN, and whose tdxtcbcomponents are all ≤ TEE_TCB_SVN — from
//      byte 2 on when TEE_TCB_SVN[1] > 0 (bytes 0–1, the module's SVN and version, are judged by the module
//      identity instead). No such level → the TCB is not supported: refused.
//   7. Module TCB (only when TEE_TCB_SVN[1] > 0): the first module-identity level with isvsvn ≤
//      TEE_TCB_SVN[0] (none → refused); its OutOfDate / Revoked converges into the level's status.
//   8. QE identity: MRSIGNER, ISVPRODID, MISCSELECT & mask, ATTRIBUTES & mask equal the quote's QE report
//      (mismatch → refused); the QE TCB level is the first with isvsvn ≤ the QE's ISVSVN (none → refused);
//      its OutOfDate / Revoked converges into the status.
//
// The result is one of Intel's statuses (UpToDate, SWHardeningNeeded, ConfigurationNeeded,
// ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded, Revoked) plus the advisory
// IDs of the levels that were selected. NOT done (documented in docs/attestation.md): the TD-relaunch
// advice of TDX 1.5 (TEE_TCB_SVN2; Intel's TDRelaunchAdvised statuses are never produced — such a TD is
// reported OutOfDate / OutOfDateConfigurationNeeded, which is refused unless accepted), re-sorting TCB
// levels (Intel publishes them sorted, newest first, and the order is covered by the signature), and the
// CRL distribution points / freshness of the collateral beyond its own nextUpdate.
import 'reflect-metadata';
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { BasicConstraintsExtension, KeyUsageFlags, PemConverter, X509Certificate, X509Crl } from '@peculiar/x509';
import { AttestationChainInvalid, AttestationConfigurationInvalid, AttestationError, AttestationPolicyViolation } from '../errors.js';
import { isSelfIssued } from '../trust.js';
import { verifyCertificatePath } from '../x509-path.js';
import { TDX_TCB_STATUSES, type TdxCollateralFiles, type TdxCollateralSource, type TdxReference, type TdxTcbStatus, type TrustAnchors } from '../types.js';
import { parsePckSgxExtensions, type PckSgxExtensions } from './pck-extensions.js';
import { BODY_TYPE_TD15, type QeReport, type TdxQuote } from './quote.js';

/** The collateral itself is unusable: missing, unparseable, badly signed, expired, or not for this platform. */
export class AttestationCollateralInvalid extends AttestationError {
  constructor(message: string) {
    super('attestation_collateral_invalid', message);
  }
}

const TCB_LEVEL_STATUSES = new Set<string>(TDX_TCB_STATUSES);
type SimpleStatus = 'UpToDate' | 'OutOfDate' | 'Revoked';
const SIMPLE_STATUSES = new Set<string>(['UpToDate', 'OutOfDate', 'Revoked']);

export interface TdxTcbLevel {
  sgxComponents: number[];
  pceSvn: number;
  tdxComponents: number[];
  tcbDate: string;
  status: TdxTcbStatus;
  advisoryIds: string[];
}

export interface IsvSvnLevel {
  isvSvn: number;
  tcbDate: string;
  status: SimpleStatus;
  advisoryIds: string[];
}

export interface TdxModuleIdentity {
  id: string;
  mrSigner: Buffer;
  attributes: Buffer;
  attributesMask: Buffer;
  tcbLevels: IsvSvnLevel[];
}

export interface TdxTcbInfo {
  issueDate: number;
  nextUpdate: number;
  fmspc: string;
  pceId: string;
  tcbEvaluationDataNumber: number;
  tdxModule: { mrSigner: Buffer; attributes: Buffer; attributesMask: Buffer };
  tdxModuleIdentities: TdxModuleIdentity[] | null;
  tcbLevels: TdxTcbLevel[];
}

export interface TdQeIdentity {
  issueDate: number;
  nextUpdate: number;
  tcbEvaluationDataNumber: number;
  mrSigner: Buffer;
  isvProdId: number;
  miscSelect: Buffer;
  miscSelectMask: Buffer;
  attributes: Buffer;
  attributesMask: Buffer;
  tcbLevels: IsvSvnLevel[];
}

// ---------------------------------------------------------------------------------------------------------
// Signed JSON: the exact bytes of one member of {"<member>": {...}, "signature": "<hex>"}.

const LITERAL = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

/** Byte ranges of the values of a JSON object's top-level members (the text is known to be valid JSON, ASCII). */
function topLevelMembers(text: string, what: string): Map<string, [number, number]> {
  const bad = (m: string): never => {
    throw new AttestationCollateralInvalid(`${what}: ${m}`);
  };
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const str = (): string => {
    const start = i++;
    while (i < text.length) {
      const c = text[i];
      if (c === '\\') i += 2;
      else if (c === '"') return JSON.parse(text.slice(start, ++i)) as string;
      else i++;
    }
    return bad('unterminated string');
  };
  const value = (depth: number): void => {
    if (depth > 32) bad('nested too deeply');
    ws();
    const c = text[i];
    if (c === '"') {
      str();
      return;
    }
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          ws();
          if (text[i] !== '"') bad('object key expected');
          str();
          ws();
          if (text[i] !== ':') bad("':' expected");
          i++;
        }
        value(depth + 1);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === close) {
          i++;
          return;
        } else bad('separator expected');
      }
    }
    LITERAL.lastIndex = i;
    if (!LITERAL.test(text)) bad(`unexpected ${JSON.stringify(text.slice(i, i + 8))}`);
    i = LITERAL.lastIndex;
  };

  const out = new Map<string, [number, number]>();
  ws();
  if (text[i] !== '{') bad('not a JSON object');
  i++;
  ws();
  if (text[i] !== '}') {
    for (;;) {
      ws();
      if (text[i] !== '"') bad('object key expected');
      const key = str();
      ws();
      if (text[i] !== ':') bad("':' expected");
      i++;
      ws();
      const start = i;
      value(0);
      if (out.has(key)) bad(`member ${JSON.stringify(key)} appears twice`);
      out.set(key, [start, i]);
      ws();
      if (text[i] === ',') i++;
      else if (text[i] === '}') break;
      else bad('separator expected');
    }
  }
  i++;
  ws();
  if (i !== text.length) bad('bytes follow the JSON object');
  return out;
}

export interface SignedCollateral {
  /** The exact bytes the signature covers. */
  signedBytes: Buffer;
  /** JSON.parse of exactly those bytes: nothing outside them is ever evaluated. */
  body: Record<string, unknown>;
  /** ECDSA P-256 r ‖ s. */
  signature: Buffer;
}

/** Splits a PCS body {"<member>": {...}, "signature": "<128 hex>"} into signed bytes, body and signature. */
export function splitSignedCollateral(raw: Uint8Array, member: 'tcbInfo' | 'enclaveIdentity', what: string): SignedCollateral {
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  for (const b of bytes) {
    // Intel's bodies are ASCII; anything else would make byte offsets and characters disagree.
    if (b > 0x7e || (b < 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09)) throw new AttestationCollateralInvalid(`${what}: not ASCII JSON`);
  }
  const text = bytes.toString('latin1');
  try {
    JSON.parse(text);
  } catch (e) {
    throw new AttestationCollateralInvalid(`${what}: not JSON (${(e as Error).message})`);
  }
  const members = topLevelMembers(text, what);
  const keys = [...members.keys()].sort().join(',');
  const expected = [member, 'signature'].sort().join(',');
  if (keys !== expected) throw new AttestationCollateralInvalid(`${what}: members are ${keys || 'none'}, expected ${member} and signature`);
  const [s, e] = members.get(member)!;
  const signedBytes = bytes.subarray(s, e);
  const body = JSON.parse(text.slice(s, e)) as unknown;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AttestationCollateralInvalid(`${what}: ${member} is not an object`);
  const [ss, se] = members.get('signature')!;
  const sig = JSON.parse(text.slice(ss, se)) as unknown;
  if (typeof sig !== 'string' || !/^[0-9a-fA-F]{128}$/.test(sig)) throw new AttestationCollateralInvalid(`${what}: signature is not 64 bytes of hex (ECDSA P-256 r ‖ s)`);
  return { signedBytes, body: body as Record<string, unknown>, signature: Buffer.from(sig, 'hex') };
}

// ---------------------------------------------------------------------------------------------------------
// Field validation.

class Fields {
  constructor(
    private readonly o: Record<string, unknown>,
    private readonly what: string,
  ) {}

  bad(k: string, m: string): never {
    throw new AttestationCollateralInvalid(`${this.what}: ${k} ${m}`);
  }

  raw(k: string): unknown {
    return this.o[k];
  }

  str(k: string): string {
    const v = this.o[k];
    if (typeof v !== 'string') this.bad(k, 'must be a string');
    return v;
  }

  int(k: string, max = 0xffffffff): number {
    const v = this.o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) this.bad(k, `must be an integer in 0..${max}`);
    return v;
  }

  hex(k: string, bytes: number): Buffer {
    const v = this.str(k);
    if (v.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(v)) this.bad(k, `must be ${bytes} bytes of hex`);
    return Buffer.from(v, 'hex');
  }

  date(k: string): number {
    const v = this.str(k);
    const t = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/.test(v) ? Date.parse(v) : NaN;
    if (!Number.isFinite(t)) this.bad(k, 'must be an ISO 8601 UTC time');
    return t;
  }

  obj(k: string): Fields {
    const v = this.o[k];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.bad(k, 'must be an object');
    return new Fields(v as Record<string, unknown>, `${this.what} ${k}`);
  }

  list(k: string, nonEmpty = true): Fields[] {
    const v = this.o[k];
    if (!Array.isArray(v) || (nonEmpty && v.length === 0)) this.bad(k, nonEmpty ? 'must be a non-empty array' : 'must be an array');
    return v.map((x, i) => {
      if (typeof x !== 'object' || x === null || Array.isArray(x)) this.bad(`${k}[${i}]`, 'must be an object');
      return new Fields(x as Record<string, unknown>, `${this.what} ${k}[${i}]`);
    });
  }

  advisories(): string[] {
    const v = this.o['advisoryIDs'];
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) this.bad('advisoryIDs', 'must be an array of strings');
    return v as string[];
  }
}

function isvSvnLevels(f: Fields, k: string): IsvSvnLevel[] {
  return f.list(k).map((l) => {
    const status = l.str('tcbStatus');
    if (!SIMPLE_STATUSES.has(status)) l.bad('tcbStatus', `${JSON.stringify(status)} is not UpToDate, OutOfDate or Revoked`);
    return { isvSvn: l.obj('tcb').int('isvsvn', 0xffff), tcbDate: l.str('tcbDate'), status: status as SimpleStatus, advisoryIds: l.advisories() };
  });
}

function components(f: Fields, k: string): number[] {
  const list = f.list(k);
  if (list.length !== 16) f.bad(k, `must have 16 entries, has ${list.length}`);
  return list.map((c) => c.int('svn', 255));
}

/** Validates a signed TCB Info body (id "TDX", version 3, tcbType 0). */
export function parseTdxTcbInfo(body: Record<string, unknown>): TdxTcbInfo {
  const f = new Fields(body, 'TCB Info');
  if (f.raw('id') !== 'TDX') throw new AttestationCollateralInvalid(`TCB Info: id is ${JSON.stringify(f.raw('id'))}, not "TDX" (an SGX TCB Info cannot judge a TD)`);
  if (f.raw('version') !== 3) throw new AttestationCollateralInvalid(`TCB Info: version ${JSON.stringify(f.raw('version'))} is not supported (3 is)`);
  if (f.raw('tcbType') !== 0) throw new AttestationCollateralInvalid(`TCB Info: tcbType ${JSON.stringify(f.raw('tcbType'))} is not supported (0 is)`);
  const module = f.obj('tdxModule');
  const identities = f.raw('tdxModuleIdentities') === undefined
    ? null
    : f.list('tdxModuleIdentities').map((m) => ({
        id: m.str('id').toUpperCase(),
        mrSigner: m.hex('mrsigner', 48),
        attributes: m.hex('attributes', 8),
        attributesMask: m.hex('attributesMask', 8),
        tcbLevels: isvSvnLevels(m, 'tcbLevels'),
      }));
  return {
    issueDate: f.date('issueDate'),
    nextUpdate: f.date('nextUpdate'),
    fmspc: f.hex('fmspc', 6).toString('hex'),
    pceId: f.hex('pceId', 2).toString('hex'),
    tcbEvaluationDataNumber: f.int('tcbEvaluationDataNumber'),
    tdxModule: { mrSigner: module.hex('mrsigner', 48), attributes: module.hex('attributes', 8), attributesMask: module.hex('attributesMask', 8) },
    tdxModuleIdentities: identities,
    tcbLevels: f.list('tcbLevels').map((l) => {
      const tcb = l.obj('tcb');
      const status = l.str('tcbStatus');
      if (!TCB_LEVEL_STATUSES.has(status)) l.bad('tcbStatus', `${JSON.stringify(status)} is not an Intel TCB status`);
      return {
        sgxComponents: components(tcb, 'sgxtcbcomponents'),
        pceSvn: tcb.int('pcesvn', 0xffff),
        tdxComponents: components(tcb, 'tdxtcbcomponents'),
        tcbDate: l.str('tcbDate'),
        status: status as TdxTcbStatus,
        advisoryIds: l.advisories(),
      };
    }),
  };
}

/** Validates a signed QE identity body (id "TD_QE", version 2). */
export function parseTdQeIdentity(body: Record<string, unknown>): TdQeIdentity {
  const f = new Fields(body, 'QE identity');
  if (f.raw('id') !== 'TD_QE') throw new AttestationCollateralInvalid(`QE identity: id is ${JSON.stringify(f.raw('id'))}, not "TD_QE" (the TD Quoting Enclave)`);
  if (f.raw('version') !== 2) throw new AttestationCollateralInvalid(`QE identity: version ${JSON.stringify(f.raw('version'))} is not supported (2 is)`);
  return {
    issueDate: f.date('issueDate'),
    nextUpdate: f.date('nextUpdate'),
    tcbEvaluationDataNumber: f.int('tcbEvaluationDataNumber'),
    mrSigner: f.hex('mrsigner', 32),
    isvProdId: f.int('isvprodid', 0xffff),
    miscSelect: f.hex('miscselect', 4),
    miscSelectMask: f.hex('miscselectMask', 4),
    attributes: f.hex('attributes', 16),
    attributesMask: f.hex('attributesMask', 16),
    tcbLevels: isvSvnLevels(f, 'tcbLevels'),
  };
}

function assertCurrent(issueDate: number, nextUpdate: number, now: number, what: string): void {
  if (now < issueDate) throw new AttestationCollateralInvalid(`${what} is not valid before its issueDate ${new Date(issueDate).toISOString()}`);
  if (now > nextUpdate) throw new AttestationCollateralInvalid(`${what} expired: its nextUpdate ${new Date(nextUpdate).toISOString()} has passed (fetch current collateral from Intel PCS)`);
}

// ---------------------------------------------------------------------------------------------------------
// TCB Signing certificates and signatures.

export interface TcbSigner {
  cert: X509Certificate;
  key: KeyObject;
}

function sameName(a: ArrayBuffer, b: ArrayBuffer): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/** The TCB Signing certificates of `chain` that are valid at `now` and issued by a pinned Intel root. */
export async function tcbSigners(chain: string, trust: TrustAnchors, now: number, what: string): Promise<TcbSigner[]> {
  // The PCS header value is URL-encoded PEM; accept it as copied, or decoded.
  let text = chain;
  if (/-----BEGIN%20/.test(text)) {
    try {
      text = decodeURIComponent(text);
    } catch {
      throw new AttestationCollateralInvalid(`${what}: TCB signing chain is not valid URL-encoded PEM`);
    }
  }
  let certs: X509Certificate[];
  try {
    certs = PemConverter.decode(text).map((d) => new X509Certificate(d));
  } catch (e) {
    throw new AttestationCollateralInvalid(`${what}: TCB signing chain cannot be parsed (${(e as Error).message})`);
  }
  const reasons: string[] = [];
  const signers: TcbSigner[] = [];
  for (const cert of certs.filter((c) => !isSelfIssued(c))) {
    try {
      const bc = cert.getExtension(BasicConstraintsExtension);
      if (bc?.ca) throw new AttestationChainInvalid(`${cert.subject} is a CA, not a signing certificate`);
      const root = trust.intelRoots.find((r) => sameName(r.subjectName.toArrayBuffer(), cert.issuerName.toArrayBuffer()));
      if (!root) throw new AttestationChainInvalid(`${cert.subject} is not issued by a pinned Intel root`);
      await verifyCertificatePath([cert, root], trust.intelRoots, { now, what: 'tdx TCB signing', leafUsage: KeyUsageFlags.digitalSignature });
      const key = createPublicKey({ key: Buffer.from(cert.publicKey.rawData), format: 'der', type: 'spki' });
      if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new AttestationChainInvalid(`${cert.subject} is not an ECDSA P-256 key`);
      signers.push({ cert, key });
    } catch (e) {
      reasons.push((e as Error).message);
    }
  }
  if (signers.length === 0)
    throw new AttestationCollateralInvalid(`${what}: no TCB signing certificate chains to the pinned Intel root at ${new Date(now).toISOString()}${reasons.length ? ` (${reasons.join('; ')})` : ''}`);
  return signers;
}

/** The signer whose key verifies `signed`; throws AttestationCollateralInvalid when none does. */
export function verifyCollateralSignature(signed: SignedCollateral, signers: TcbSigner[], what: string): TcbSigner {
  for (const s of signers) {
    if (cryptoVerify('sha256', signed.signedBytes, { key: s.key, dsaEncoding: 'ieee-p1363' }, signed.signature)) return s;
  }
  throw new AttestationCollateralInvalid(`${what}: signature does not verify with the Intel TCB signing key (altered or not from Intel)`);
}

// ---------------------------------------------------------------------------------------------------------
// CRLs.

/** A CRL as DER, PEM ("X509 CRL") or hex text (Intel PCS answers in any of the three). */
export function parseCrl(input: Uint8Array, what: string): X509Crl {
  const b = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  try {
    const head = b.subarray(0, 64).toString('latin1');
    if (head.includes('-----BEGIN')) {
      const ders = PemConverter.decode(b.toString('latin1'));
      if (ders.length !== 1) throw new Error(`${ders.length} PEM blocks`);
      return new X509Crl(ders[0]!);
    }
    const text = b.toString('latin1').trim();
    if (text.length > 0 && /^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) return new X509Crl(Buffer.from(text, 'hex'));
    return new X509Crl(b);
  } catch (e) {
    throw new AttestationCollateralInvalid(`${what}: not a CRL (${(e as Error).message})`);
  }
}

const KNOWN_CRL_EXTENSIONS = new Set(['2.5.29.20', '2.5.29.35']); // CRL number, authority key identifier

/** Issuer, signature, validity and critical extensions of `crl` against the (verified) issuing CA. */
export async function verifyCrl(crl: X509Crl, issuer: X509Certificate, now: number, what: string): Promise<void> {
  if (!sameName(crl.issuerName.toArrayBuffer(), issuer.subjectName.toArrayBuffer()))
    throw new AttestationCollateralInvalid(`${what}: issued by ${crl.issuer}, expected ${issuer.subject}`);
  let ok = false;
  try {
    ok = await crl.verify({ publicKey: issuer.publicKey });
  } catch {
    ok = false;
  }
  if (!ok) throw new AttestationCollateralInvalid(`${what}: signature does not verify with ${issuer.subject}`);
  const at = new Date(now);
  if (at < crl.thisUpdate) throw new AttestationCollateralInvalid(`${what}: not valid before its thisUpdate ${crl.thisUpdate.toISOString()}`);
  if (!crl.nextUpdate) throw new AttestationCollateralInvalid(`${what}: has no nextUpdate`);
  if (at > crl.nextUpdate) throw new AttestationCollateralInvalid(`${what} expired: its nextUpdate ${crl.nextUpdate.toISOString()} has passed (fetch a current CRL)`);
  for (const ext of crl.extensions) {
    if (ext.critical && !KNOWN_CRL_EXTENSIONS.has(ext.type)) throw new AttestationCollateralInvalid(`${what}: unsupported critical extension ${ext.type}`);
  }
  for (const entry of crl.entries) {
    if (entry.extensions.some((x) => x.critical)) throw new AttestationCollateralInvalid(`${what}: an entry carries a critical extension (indirect CRL?), not supported`);
  }
}

/** Serial numbers compared as unsigned integers (DER may carry a leading zero byte). */
function serialKey(hex: string): string {
  return hex.toLowerCase().replace(/^(?:00)+(?=..)/, '');
}

export function isListed(crl: X509Crl, cert: X509Certificate): boolean {
  const want = serialKey(cert.serialNumber);
  return crl.entries.some((e) => serialKey(e.serialNumber) === want);
}

// ---------------------------------------------------------------------------------------------------------
// TCB level, TDX module and QE identity evaluation.

function maskedEqual(value: Buffer, mask: Buffer, expected: Buffer): boolean {
  if (value.length !== mask.length || mask.length !== expected.length) return false;
  for (let i = 0; i < value.length; i++) if ((value[i]! & mask[i]!) !== expected[i]) return false;
  return true;
}

function notSupported(m: string): never {
  throw new AttestationPolicyViolation(`tdx: TCB not supported: ${m}`);
}

/** Intel's convergence of a level status with an OutOfDate / Revoked module or QE status. */
function converge(level: TdxTcbStatus, other: SimpleStatus): TdxTcbStatus {
  if (other === 'Revoked') return 'Revoked';
  if (other === 'OutOfDate') {
    if (level === 'UpToDate' || level === 'SWHardeningNeeded') return 'OutOfDate';
    if (level === 'ConfigurationNeeded' || level === 'ConfigurationAndSWHardeningNeeded') return 'OutOfDateConfigurationNeeded';
  }
  return level;
}

export interface TdxTcbVerdict {
  /** The TDX TCB level's status converged with the TDX module's (not yet with the QE's). */
  status: TdxTcbStatus;
  level: TdxTcbLevel;
  /** null when TEE_TCB_SVN[1] = 0 (no module identity to judge). */
  module: { id: string; level: IsvSvnLevel } | null;
  advisoryIds: string[];
}

/** Steps 4–7: TCB Info against the PCK's SGX extensions and the quote's TD report. */
export function evaluateTdxTcb(info: TdxTcbInfo, pck: PckSgxExtensions, quote: TdxQuote): TdxTcbVerdict {
  if (info.fmspc !== pck.fmspc)
    throw new AttestationCollateralInvalid(`tdx: TCB Info is for FMSPC ${info.fmspc}, the PCK certificate's platform is ${pck.fmspc}`);
  if (info.pceId !== pck.pceId) throw new AttestationCollateralInvalid(`tdx: TCB Info is for PCE-ID ${info.pceId}, the PCK certificate's is ${pck.pceId}`);

  const svn = quote.body.teeTcbSvn;
  const moduleVersion = svn[1]!;
  const moduleSvn = svn[0]!;
  // Step 5: which TDX module identity judges MRSIGNERSEAM / SEAM_ATTRIBUTES.
  let identity: TdxModuleIdentity | null = null;
  let expect = info.tdxModule;
  if (moduleVersion > 0) {
    const id = `TDX_${moduleVersion.toString(16).toUpperCase().padStart(2, '0')}`;
    identity = info.tdxModuleIdentities?.find((m) => m.id === id) ?? null;
    if (!identity) throw new AttestationPolicyViolation(`tdx: TDX module mismatch: TCB Info has no identity ${id} for the module version TEE_TCB_SVN[1] = ${moduleVersion}`);
    expect = identity;
  }
  if (!quote.body.mrSignerSeam.equals(expect.mrSigner)) throw new AttestationPolicyViolation('tdx: TDX module mismatch: MRSIGNERSEAM differs from the TCB Info module signer');
  if (!maskedEqual(quote.body.seamAttributes, expect.attributesMask, expect.attributes))
    throw new AttestationPolicyViolation('tdx: TDX module mismatch: SEAM_ATTRIBUTES differ from the TCB Info module attributes');

  // Step 6.
  const from = moduleVersion > 0 ? 2 : 0;
  let sgxMatched = false;
  let level: TdxTcbLevel | undefined;
  for (const l of info.tcbLevels) {
    if (!l.sgxComponents.every((v, i) => pck.cpuSvnComponents[i]! >= v) || pck.pceSvn < l.pceSvn) continue;
    sgxMatched = true;
    let ok = true;
    for (let i = from; i < 16; i++) if (svn[i]! < l.tdxComponents[i]!) ok = false;
    if (ok) {
      level = l;
      break;
    }
  }
  if (!sgxMatched)
    notSupported(`no TCB level of FMSPC ${info.fmspc} is met by the PCK's SGX TCB (components ${pck.cpuSvnComponents.join('.')}, PCESVN ${pck.pceSvn})`);
  if (!level) notSupported(`no TCB level of FMSPC ${info.fmspc} is met by TEE_TCB_SVN ${svn.toString('hex')}`);

  // Step 7.
  let status = level.status;
  let module: TdxTcbVerdict['module'] = null;
  if (identity) {
    const ml = identity.tcbLevels.find((m) => moduleSvn >= m.isvSvn);
    if (!ml) notSupported(`no ${identity.id} module TCB level is met by the module SVN TEE_TCB_SVN[0] = ${moduleSvn}`);
    module = { id: identity.id, level: ml };
    status = converge(status, ml.status);
  }
  return { status, level, module, advisoryIds: [...level.advisoryIds, ...(module?.level.advisoryIds ?? [])] };
}

/** Step 8: the QE report against Intel's TD QE identity; its TCB level. */
export function evaluateQeIdentity(identity: TdQeIdentity, qe: QeReport): IsvSvnLevel {
  if (!qe.mrSigner.equals(identity.mrSigner)) throw new AttestationChainInvalid('tdx: QE identity mismatch: MRSIGNER differs from Intel\'s published TD QE identity');
  if (qe.isvProdId !== identity.isvProdId) throw new AttestationChainInvalid(`tdx: QE identity mismatch: ISVPRODID ${qe.isvProdId}, Intel's TD QE is ${identity.isvProdId}`);
  // MISCSELECT compared byte by byte as it sits in the report (Intel reads both as little-endian).
  if (!maskedEqual(qe.raw.subarray(16, 20), identity.miscSelectMask, identity.miscSelect)) throw new AttestationChainInvalid('tdx: QE identity mismatch: masked MISCSELECT');
  if (!maskedEqual(qe.attributes, identity.attributesMask, identity.attributes)) throw new AttestationChainInvalid('tdx: QE identity mismatch: masked ATTRIBUTES');
  const level = identity.tcbLevels.find((l) => qe.isvSvn >= l.isvSvn);
  if (!level) notSupported(`no QE identity TCB level is met by the QE's ISVSVN ${qe.isvSvn}`);
  return level;
}

// ---------------------------------------------------------------------------------------------------------
// The whole evaluation.

export interface TdxCollateralVerdict {
  status: TdxTcbStatus;
  advisoryIds: string[];
  fmspc: string;
  pceId: string;
  /** tcbDate of the selected TDX TCB level. */
  tcbDate: string;
  tcbEvaluationDataNumber: number;
  tdxModuleTcbStatus: SimpleStatus | 'not-applicable';
  qeTcbStatus: SimpleStatus;
  /** The earliest nextUpdate among TCB Info, QE identity and both CRLs: the collateral must be refreshed by then. */
  nextUpdate: number;
  source: string;
}

export interface CollateralInput {
  quote: TdxQuote;
  /** The verified PCK leaf, its issuing CA and the pinned root the chain led to. */
  pck: X509Certificate;
  pckCa: X509Certificate;
  root: X509Certificate;
  files: TdxCollateralFiles;
  trust: TrustAnchors;
  now: number;
}

export async function evaluateTdxCollateral(input: CollateralInput): Promise<TdxCollateralVerdict> {
  const { quote, pck, pckCa, root, files, trust, now } = input;
  const src = files.source;
  const ext = parsePckSgxExtensions(pck);

  // 1–2: signatures and validity of TCB Info and QE identity.
  // Signers under the same root as the PCK chain, so that root's CRL speaks for them too.
  const signers = await tcbSigners(files.tcbSigningChain, { ...trust, intelRoots: [root] }, now, `${src}: TCB signing chain`);
  const tcbSigned = splitSignedCollateral(files.tcbInfo, 'tcbInfo', `${src}: TCB Info`);
  const tcbSigner = verifyCollateralSignature(tcbSigned, signers, `${src}: TCB Info`);
  const tcbInfo = parseTdxTcbInfo(tcbSigned.body);
  assertCurrent(tcbInfo.issueDate, tcbInfo.nextUpdate, now, `${src}: TCB Info for FMSPC ${tcbInfo.fmspc}`);
  const qeSigned = splitSignedCollateral(files.qeIdentity, 'enclaveIdentity', `${src}: QE identity`);
  const qeSigner = verifyCollateralSignature(qeSigned, signers, `${src}: QE identity`);
  const qeIdentity = parseTdQeIdentity(qeSigned.body);
  assertCurrent(qeIdentity.issueDate, qeIdentity.nextUpdate, now, `${src}: QE identity`);

  // 3: CRLs.
  const rootCrl = parseCrl(files.rootCaCrl, `${src}: Root CA CRL`);
  await verifyCrl(rootCrl, root, now, `${src}: Root CA CRL`);
  const pckCrls = files.pckCrls.map((b, i) => parseCrl(b, `${src}: PCK CRL #${i}`)).filter((c) => sameName(c.issuerName.toArrayBuffer(), pckCa.subjectName.toArrayBuffer()));
  if (pckCrls.length !== 1)
    throw new AttestationCollateralInvalid(`${src}: ${pckCrls.length === 0 ? 'no' : 'more than one'} PCK CRL issued by ${pckCa.subject} (the CA of this PCK certificate)`);
  const pckCrl = pckCrls[0]!;
  await verifyCrl(pckCrl, pckCa, now, `${src}: PCK CRL (${pckCa.subject})`);
  if (isListed(pckCrl, pck)) throw new AttestationChainInvalid(`tdx: the PCK certificate (serial ${pck.serialNumber}) is revoked by ${pckCa.subject}`);
  if (isListed(rootCrl, pckCa)) throw new AttestationChainInvalid(`tdx: the PCK CA ${pckCa.subject} (serial ${pckCa.serialNumber}) is revoked by the Intel root`);
  for (const s of new Set([tcbSigner, qeSigner])) {
    if (isListed(rootCrl, s.cert)) throw new AttestationCollateralInvalid(`${src}: the TCB signing certificate (serial ${s.cert.serialNumber}) is revoked by the Intel root`);
  }

  // 4–8.
  const tdx = evaluateTdxTcb(tcbInfo, ext, quote);
  const qe = evaluateQeIdentity(qeIdentity, quote.qeReport);
  const status = converge(tdx.status, qe.status);
  const advisoryIds = [...new Set([...tdx.advisoryIds, ...qe.advisoryIds])];
  return {
    status,
    advisoryIds,
    fmspc: ext.fmspc,
    pceId: ext.pceId,
    tcbDate: tdx.level.tcbDate,
    tcbEvaluationDataNumber: tcbInfo.tcbEvaluationDataNumber,
    tdxModuleTcbStatus: tdx.module?.level.status ?? 'not-applicable',
    qeTcbStatus: qe.status,
    nextUpdate: Math.min(tcbInfo.nextUpdate, qeIdentity.nextUpdate, rootCrl.nextUpdate!.getTime(), pckCrl.nextUpdate!.getTime()),
    source: src,
  };
}

/**
 * The platform-TCB part of verifyTdxEvidence: with collateral configured, evaluate it and refuse a status
 * the reference does not accept (default: UpToDate only; Revoked never); without, report 'not-evaluated'
 * — or refuse when the reference requires collateral. Returns the `platform` fields to record.
 */
export async function assertTdxPlatformTcb(
  input: Omit<CollateralInput, 'files'>,
  reference: TdxReference,
): Promise<Record<string, string | number | boolean>> {
  const source = input.trust.tdxCollateral;
  let fmspc: string | null = null;
  try {
    fmspc = parsePckSgxExtensions(input.pck).fmspc;
  } catch (e) {
    // Without collateral the FMSPC is only reported; with it, the extension must parse (below).
    if (source || reference.requireCollateral === true) throw e;
  }
  if (!source) {
    if (reference.requireCollateral === true)
      throw new AttestationPolicyViolation(
        'tdx: the reference requires the platform TCB status (requireCollateral), but no Intel collateral is configured (workload.attestation.tdxCollateralDir)',
      );
    // Intel PCS TCB status (UpToDate, OutOfDate, Revoked…) is not evaluated without collateral.
    return { tcbStatus: 'not-evaluated', ...(fmspc ? { fmspc } : {}) };
  }
  const files = await source.load(fmspc!);
  if (!files) throw new AttestationCollateralInvalid(`tdx: ${source.description} holds no TCB Info for FMSPC ${fmspc} (the platform of this quote)`);
  const v = await evaluateTdxCollateral({ ...input, files });
  const accepted = reference.acceptedTcbStatuses ?? ['UpToDate'];
  const advisories = v.advisoryIds.length ? ` (advisories ${v.advisoryIds.join(', ')})` : '';
  if (v.status === 'Revoked' || !accepted.includes(v.status))
    throw new AttestationPolicyViolation(`tdx: the platform TCB status is ${v.status}${advisories}; the reference accepts ${accepted.join(', ')}`);
  return {
    tcbStatus: v.status,
    tcbAdvisoryIds: v.advisoryIds.join(','),
    fmspc: v.fmspc,
    tcbDate: v.tcbDate,
    tcbEvaluationDataNumber: v.tcbEvaluationDataNumber,
    tdxModuleTcbStatus: v.tdxModuleTcbStatus,
    qeTcbStatus: v.qeTcbStatus,
    collateralNextUpdate: new Date(v.nextUpdate).toISOString(),
    ...(input.quote.bodyType === BODY_TYPE_TD15 ? { tdRelaunchAdvice: 'not-evaluated' } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The operator's collateral directory.

/** File names inside workload.attestation.tdxCollateralDir (docs/attestation.md, "TDX collateral"). */
export const COLLATERAL_FILES = {
  tcbInfoDir: 'tcb-info',
  qeIdentity: 'qe-identity.json',
  tcbSigningChain: 'tcb-signing-chain.pem',
  pckCrls: ['pck-platform.crl', 'pck-processor.crl'],
  rootCaCrl: 'root-ca.crl',
} as const;

const MAX_FILE_BYTES = 8 * 1024 * 1024;

async function readOptional(path: string): Promise<Buffer | null> {
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new AttestationCollateralInvalid(`${path} is not a file`);
    if (st.size > MAX_FILE_BYTES) throw new AttestationCollateralInvalid(`${path} is larger than ${MAX_FILE_BYTES} bytes`);
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (e instanceof AttestationError) throw e;
    throw new AttestationCollateralInvalid(`${path} cannot be read (${(e as Error).message})`);
  }
}

async function readRequired(path: string): Promise<Buffer> {
  const b = await readOptional(path);
  if (!b) throw new AttestationCollateralInvalid(`${path} is missing (TDX collateral needs it)`);
  return b;
}

/**
 * An operator-maintained directory of Intel PCS collateral, read at each evaluation (so a refresh needs no
 * restart). Layout:
 *   tcb-info/<fmspc>.json   TCB Info body for that FMSPC (12 lowercase hex digits)
 *   qe-identity.json        TD QE identity body
 *   tcb-signing-chain.pem   TCB-Info-Issuer-Chain header value (PEM, or as sent: URL-encoded)
 *   pck-platform.crl        PCK Platform CA CRL   } at least one; DER, PEM or hex
 *   pck-processor.crl       PCK Processor CA CRL  }
 *   root-ca.crl             Intel SGX Root CA CRL (DER, PEM or hex)
 * A missing directory fails the start; a missing file is a refusal at verification time.
 */
export function tdxCollateralDirectory(dir: string): TdxCollateralSource {
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new AttestationConfigurationInvalid(`workload.attestation.tdxCollateralDir: ${dir} is not a directory`);
  return {
    description: `TDX collateral directory ${dir}`,
    async load(fmspc: string): Promise<TdxCollateralFiles | null> {
      if (!/^[0-9a-f]{12}$/.test(fmspc)) throw new AttestationCollateralInvalid(`FMSPC ${JSON.stringify(fmspc)} is not 6 bytes of lowercase hex`);
      const tcbInfo = await readOptional(join(dir, COLLATERAL_FILES.tcbInfoDir, `${fmspc}.json`));
      if (!tcbInfo) return null;
      const pckCrls: Buffer[] = [];
      for (const name of COLLATERAL_FILES.pckCrls) {
        const b = await readOptional(join(dir, name));
        if (b) pckCrls.push(b);
      }
      if (pckCrls.length === 0) throw new AttestationCollateralInvalid(`${dir}: neither ${COLLATERAL_FILES.pckCrls.join(' nor ')} is present (PCK revocation cannot be checked)`);
      return {
        tcbInfo,
        qeIdentity: await readRequired(join(dir, COLLATERAL_FILES.qeIdentity)),
        tcbSigningChain: (await readRequired(join(dir, COLLATERAL_FILES.tcbSigningChain))).toString('latin1'),
        pckCrls,
        rootCaCrl: await readRequired(join(dir, COLLATERAL_FILES.rootCaCrl)),
        source: dir,
      };
    },
  };
}
