// A throwaway PKI generated per test run (no committed keys): root → intermediate → leaf, P-384.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import {
  BasicConstraintsExtension,
  Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  X509Certificate,
  X509CertificateGenerator,
} from '@peculiar/x509';

const subtle = webcrypto.subtle;
const ES384 = { name: 'ECDSA', hash: 'SHA-384' } as const;

export interface Issued {
  cert: X509Certificate;
  keys: webcrypto.CryptoKeyPair;
}

export async function p384(): Promise<webcrypto.CryptoKeyPair> {
  return (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

export async function selfSignedCa(name: string, notBefore: Date, notAfter: Date): Promise<Issued> {
  const keys = await p384();
  const cert = await X509CertificateGenerator.createSelfSigned({
    name,
    keys,
    notBefore,
    notAfter,
    signingAlgorithm: ES384,
    extensions: [new BasicConstraintsExtension(true, undefined, true), new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true)],
  });
  return { cert, keys };
}

export async function issue(
  issuer: Issued,
  subject: string,
  opts: { ca: boolean; notBefore: Date; notAfter: Date; extra?: Extension[]; keys?: webcrypto.CryptoKeyPair },
): Promise<Issued> {
  const keys = opts.keys ?? (await p384());
  const cert = await X509CertificateGenerator.create({
    subject,
    issuer: issuer.cert.subject,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    signingAlgorithm: ES384,
    extensions: [
      new BasicConstraintsExtension(opts.ca, undefined, true),
      new KeyUsagesExtension(opts.ca ? KeyUsageFlags.keyCertSign : KeyUsageFlags.digitalSignature, true),
      ...(opts.extra ?? []),
    ],
  });
  return { cert, keys };
}

export function der(c: X509Certificate): Buffer {
  return Buffer.from(c.rawData);
}
