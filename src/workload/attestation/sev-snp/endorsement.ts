// The VCEK / VLEK certificate's AMD extensions (VCEK Certificate and KDS Interface Specification,
// pub. 57230, Table 8): the TCB it was issued for, and for a VCEK the chip it belongs to. A report is
// only endorsed by a certificate issued for the same TCB (and chip).
import 'reflect-metadata';
import type { X509Certificate } from '@peculiar/x509';
import { AttestationChainInvalid } from '../errors.js';
import type { SnpTcb } from '../types.js';

const OID = {
  blSPL: '1.3.6.1.4.1.3704.1.3.1',
  teeSPL: '1.3.6.1.4.1.3704.1.3.2',
  snpSPL: '1.3.6.1.4.1.3704.1.3.3',
  ucodeSPL: '1.3.6.1.4.1.3704.1.3.8',
  hwID: '1.3.6.1.4.1.3704.1.4',
  cspID: '1.3.6.1.4.1.3704.1.5',
};

export type EndorsementKind = 'vcek' | 'vlek';

export interface Endorsement {
  kind: EndorsementKind;
  tcb: SnpTcb;
  /** 64-byte chip id, VCEK only. */
  hwId: Buffer | null;
}

function extValue(cert: X509Certificate, oid: string): Buffer | null {
  const e = cert.getExtension(oid);
  return e ? Buffer.from(e.value) : null;
}

/** A DER INTEGER in 0..255 (short form): every SPL is one byte. */
function splValue(cert: X509Certificate, oid: string, name: string): number {
  const v = extValue(cert, oid);
  if (!v) throw new AttestationChainInvalid(`sev-snp: endorsement certificate lacks ${name}`);
  if (v[0] !== 0x02 || v[1] !== v.length - 2 || v.length < 3 || v.length > 4) throw new AttestationChainInvalid(`sev-snp: ${name} is not a small DER INTEGER`);
  const body = v.subarray(2);
  if (body[0]! & 0x80) throw new AttestationChainInvalid(`sev-snp: ${name} is negative`);
  const n = body.readUIntBE(0, body.length);
  if (n > 255) throw new AttestationChainInvalid(`sev-snp: ${name} ${n} does not fit a TCB byte`);
  return n;
}

export function readEndorsement(cert: X509Certificate): Endorsement {
  const tcb: SnpTcb = {
    bootloader: splValue(cert, OID.blSPL, 'blSPL'),
    tee: splValue(cert, OID.teeSPL, 'teeSPL'),
    snp: splValue(cert, OID.snpSPL, 'snpSPL'),
    microcode: splValue(cert, OID.ucodeSPL, 'ucodeSPL'),
  };
  const hw = extValue(cert, OID.hwID);
  const csp = extValue(cert, OID.cspID);
  if (hw && csp) throw new AttestationChainInvalid('sev-snp: endorsement certificate claims to be both VCEK and VLEK');
  if (hw) {
    // AMD's KDS puts the 64 raw bytes in the extension value; some tools wrap them in an OCTET STRING.
    let id: Buffer;
    if (hw.length === 64) id = hw;
    else if (hw.length === 66 && hw[0] === 0x04 && hw[1] === 64) id = hw.subarray(2);
    else throw new AttestationChainInvalid(`sev-snp: hwID extension is ${hw.length} bytes, expected a 64-byte chip id`);
    return { kind: 'vcek', tcb, hwId: id };
  }
  if (csp) return { kind: 'vlek', tcb, hwId: null };
  throw new AttestationChainInvalid('sev-snp: endorsement certificate is neither a VCEK (hwID) nor a VLEK (csp_id)');
}
