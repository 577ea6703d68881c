// The Intel SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1; Intel SGX PCK Certificate and
// CRL Profile, "SGX Extensions"): the platform's identity and TCB as Intel certified it —
//
//   SGXExtensions ::= SEQUENCE OF SEQUENCE { OID, value }, with
//     .1  PPID                 OCTET STRING (16)
//     .2  TCB                  SEQUENCE OF SEQUENCE { OID .2.N, value }:
//                                .2.1 … .2.16  SGX TCB component SVNs, INTEGER 0..255
//                                .2.17         PCESVN, INTEGER 0..65535
//                                .2.18         CPUSVN, OCTET STRING (16)
//     .3  PCE-ID               OCTET STRING (2)
//     .4  FMSPC                OCTET STRING (6)
//     .5  SGX type             ENUMERATED (0 Standard, 1 Scalable, 2 Scalable with integrity)
//     .6, .7 (Platform CA PCKs: platform instance id, configuration) — read past, not used.
//
// Every required member must be present exactly once with its exact type and length; anything else is a
// refusal (the leaf is already Intel-signed by then, so a malformed extension means a certificate we do not
// understand, never one to guess about). Decoded with asn1js (the BER decoder under @peculiar/x509), with
// the whole extension value consumed and nesting bounded.
import 'reflect-metadata';
import * as asn1js from 'asn1js';
import type { X509Certificate } from '@peculiar/x509';
import { AttestationChainInvalid } from '../errors.js';

export const SGX_EXTENSIONS_OID = '1.2.840.113741.1.13.1';
const OID_PPID = `${SGX_EXTENSIONS_OID}.1`;
const OID_TCB = `${SGX_EXTENSIONS_OID}.2`;
const OID_PCEID = `${SGX_EXTENSIONS_OID}.3`;
const OID_FMSPC = `${SGX_EXTENSIONS_OID}.4`;
const OID_SGX_TYPE = `${SGX_EXTENSIONS_OID}.5`;

export interface PckSgxExtensions {
  /** Platform provisioning id, 16 bytes hex. */
  ppid: string;
  /** SGX TCB components 01..16 (index 0 = component 01), as certified. */
  cpuSvnComponents: number[];
  pceSvn: number;
  /** CPUSVN, 16 bytes hex (the raw value the components were derived from). */
  cpuSvn: string;
  /** PCE id, 2 bytes hex. */
  pceId: string;
  /** Family-Model-Stepping-Platform-CustomSKU, 6 bytes hex, lowercase: names the platform's TCB Info. */
  fmspc: string;
  /** 0 Standard, 1 Scalable, 2 Scalable with integrity. */
  sgxType: number;
}

function fail(what: string): never {
  throw new AttestationChainInvalid(`tdx: PCK certificate SGX extension: ${what}`);
}

/** The SEQUENCE { OID, value } pairs of a SEQUENCE OF, keyed by OID; duplicates refused. */
function pairs(node: asn1js.AsnType, what: string): Map<string, asn1js.AsnType> {
  if (!(node instanceof asn1js.Sequence)) fail(`${what} is not a SEQUENCE`);
  const out = new Map<string, asn1js.AsnType>();
  for (const item of node.valueBlock.value) {
    if (!(item instanceof asn1js.Sequence) || item.valueBlock.value.length !== 2) fail(`${what} holds something other than SEQUENCE { OID, value }`);
    const [oid, value] = item.valueBlock.value as [asn1js.AsnType, asn1js.AsnType];
    if (!(oid instanceof asn1js.ObjectIdentifier)) fail(`${what} holds an entry without an OID`);
    const id = oid.valueBlock.toString();
    if (out.has(id)) fail(`${what} holds ${id} twice`);
    out.set(id, value);
  }
  return out;
}

function octets(map: Map<string, asn1js.AsnType>, oid: string, bytes: number, name: string): Buffer {
  const v = map.get(oid);
  if (v === undefined) fail(`${name} (${oid}) is missing`);
  if (!(v instanceof asn1js.OctetString) || v.idBlock.isConstructed) fail(`${name} is not a primitive OCTET STRING`);
  const b = Buffer.from(v.valueBlock.valueHexView);
  if (b.length !== bytes) fail(`${name} is ${b.length} bytes, expected ${bytes}`);
  return b;
}

function smallUnsigned(v: asn1js.AsnType | undefined, max: number, name: string, enumerated = false): number {
  if (v === undefined) fail(`${name} is missing`);
  // Enumerated extends Integer in asn1js: tell them apart explicitly.
  const ok = enumerated ? v instanceof asn1js.Enumerated : v instanceof asn1js.Integer && !(v instanceof asn1js.Enumerated);
  if (!ok) fail(`${name} is not an ${enumerated ? 'ENUMERATED' : 'INTEGER'}`);
  const n = (v as asn1js.Integer).toBigInt();
  if (n < 0n || n > BigInt(max)) fail(`${name} is ${n}, outside 0..${max}`);
  return Number(n);
}

/** Parses the SGX extensions of an (already verified) PCK leaf. Throws AttestationChainInvalid. */
export function parsePckSgxExtensions(pck: X509Certificate): PckSgxExtensions {
  const ext = pck.extensions.find((e) => e.type === SGX_EXTENSIONS_OID);
  if (!ext) fail('absent (not an Intel SGX PCK certificate)');
  if (pck.extensions.filter((e) => e.type === SGX_EXTENSIONS_OID).length !== 1) fail('present more than once');
  const der = new Uint8Array(ext.value);
  const decoded = asn1js.fromBER(der, { maxDepth: 8, maxNodes: 512 });
  if (decoded.offset === -1 || decoded.result.error) fail(`cannot be decoded (${decoded.result.error || 'BER error'})`);
  if (decoded.offset !== der.byteLength) fail(`${der.byteLength - decoded.offset} bytes follow the extension value`);

  const top = pairs(decoded.result, 'SGXExtensions');
  const tcbNode = top.get(OID_TCB);
  if (tcbNode === undefined) fail(`TCB (${OID_TCB}) is missing`);
  const tcb = pairs(tcbNode, 'TCB');
  const cpuSvnComponents: number[] = [];
  for (let i = 1; i <= 16; i++) cpuSvnComponents.push(smallUnsigned(tcb.get(`${OID_TCB}.${i}`), 255, `TCB component ${i}`));
  const pceSvn = smallUnsigned(tcb.get(`${OID_TCB}.17`), 0xffff, 'PCESVN');
  const cpuSvn = octets(tcb, `${OID_TCB}.18`, 16, 'CPUSVN');

  return {
    ppid: octets(top, OID_PPID, 16, 'PPID').toString('hex'),
    cpuSvnComponents,
    pceSvn,
    cpuSvn: cpuSvn.toString('hex'),
    pceId: octets(top, OID_PCEID, 2, 'PCE-ID').toString('hex'),
    fmspc: octets(top, OID_FMSPC, 6, 'FMSPC').toString('hex'),
    sgxType: smallUnsigned(top.get(OID_SGX_TYPE), 255, 'SGX type', true),
  };
}
