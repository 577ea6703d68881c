// SEV-SNP reports signed by a test "AMD" PKI (ARK → ASK → VCEK, P-384) with the AMD VCEK extensions,
// laid out per the SEV-SNP ABI so the verifier's binding and policy checks can be provoked.
import { createHash, createPrivateKey, sign, webcrypto } from 'node:crypto';
import 'reflect-metadata';
import { Extension } from '@peculiar/x509';
import { der, issue, selfSignedCa, type Issued } from './test-pki.js';

const HOUR = 3_600_000;

export interface SnpTcbBytes {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
}

export interface SnpPki {
  ark: Issued;
  ask: Issued;
  vcek: Issued;
  chipId: Buffer;
  tcb: SnpTcbBytes;
}

const derInt = (n: number) => (n < 0x80 ? Buffer.from([0x02, 0x01, n]) : Buffer.from([0x02, 0x02, 0x00, n]));

export async function createSnpPki(base: number, o: { tcb?: SnpTcbBytes; chipId?: Buffer; certTcb?: SnpTcbBytes; certChipId?: Buffer } = {}): Promise<SnpPki> {
  const tcb = o.tcb ?? { bootloader: 3, tee: 0, snp: 8, microcode: 115 };
  const certTcb = o.certTcb ?? tcb;
  const chipId = o.chipId ?? Buffer.alloc(64, 0x5a);
  const ark = await selfSignedCa('CN=ARK-Test', new Date(base - 24 * HOUR), new Date(base + 24 * HOUR));
  const ask = await issue(ark, 'CN=SEV-Test', { ca: true, notBefore: new Date(base - 24 * HOUR), notAfter: new Date(base + 24 * HOUR) });
  const vcek = await issue(ask, 'CN=SEV-VCEK', {
    ca: false,
    notBefore: new Date(base - 24 * HOUR),
    notAfter: new Date(base + 24 * HOUR),
    extra: [
      new Extension('1.3.6.1.4.1.3704.1.3.1', false, derInt(certTcb.bootloader)),
      new Extension('1.3.6.1.4.1.3704.1.3.2', false, derInt(certTcb.tee)),
      new Extension('1.3.6.1.4.1.3704.1.3.3', false, derInt(certTcb.snp)),
      new Extension('1.3.6.1.4.1.3704.1.3.8', false, derInt(certTcb.microcode)),
      new Extension('1.3.6.1.4.1.3704.1.4', false, o.certChipId ?? chipId),
    ],
  });
  return { ark, ask, vcek, chipId, tcb };
}

export interface ReportFields {
  measurement: Buffer;
  reportData: Buffer;
  policy?: bigint;
  vmpl?: number;
  hostData?: Buffer;
}

function tcbU64(t: SnpTcbBytes): Buffer {
  const b = Buffer.alloc(8);
  b[0] = t.bootloader;
  b[1] = t.tee;
  b[6] = t.snp;
  b[7] = t.microcode;
  return b;
}

/** SEV-SNP ABI Table 22 layout, version 2, signed by the VCEK (r, s little-endian in 72-byte fields). */
export async function forgeSnpReport(pki: SnpPki, f: ReportFields): Promise<Buffer> {
  const r = Buffer.alloc(0x4a0);
  r.writeUInt32LE(2, 0x00);
  r.writeBigUInt64LE(f.policy ?? 0x30000n, 0x08);
  r.writeUInt32LE(f.vmpl ?? 0, 0x30);
  r.writeUInt32LE(1, 0x34);
  tcbU64(pki.tcb).copy(r, 0x38);
  f.reportData.copy(r, 0x50);
  f.measurement.copy(r, 0x90);
  (f.hostData ?? Buffer.alloc(32)).copy(r, 0xc0);
  tcbU64(pki.tcb).copy(r, 0x180);
  pki.chipId.copy(r, 0x1a0);
  tcbU64(pki.tcb).copy(r, 0x1e0);
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', pki.vcek.keys.privateKey));
  const sig = sign('sha384', r.subarray(0, 0x2a0), { key: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }), dsaEncoding: 'ieee-p1363' });
  Buffer.from(sig.subarray(0, 48)).reverse().copy(r, 0x2a0);
  Buffer.from(sig.subarray(48)).reverse().copy(r, 0x2e8);
  return r;
}

export function bindKey(nonce: Buffer, spki: Buffer): Buffer {
  return createHash('sha512').update(nonce).update(spki).digest();
}

export { der };
