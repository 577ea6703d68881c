// An operator's own certificate and key: a listener's server certificate (instead of the dev CA's) or
// Warden's client certificate for mTLS to an upstream. Checked at start-up so a wrong file fails the start
// with a clear message, never a handshake later. Refused: a key that does not match the certificate, a
// certificate outside its validity period, and a private key file that group or others can read.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export class ServerCertificateInvalid extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServerCertificateInvalid';
  }
}

export interface ServerCertificate {
  certPem: string;
  keyPem: string;
  /** Leaf subject and expiry, for the start-up banner and logs. */
  subject: string;
  notAfter: string;
}

export function loadServerCertificate(certFile: string, keyFile: string, now = Date.now()): ServerCertificate {
  let certPem: string;
  let keyPem: string;
  try {
    certPem = readFileSync(certFile, 'utf8');
    keyPem = readFileSync(keyFile, 'utf8');
  } catch (e) {
    throw new ServerCertificateInvalid(`cannot read the TLS certificate or key: ${(e as Error).message}`);
  }
  if ((statSync(keyFile).mode & 0o077) !== 0) throw new ServerCertificateInvalid(`${keyFile}: the private key must not be readable by group or others (chmod 600)`);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem); // the first certificate of the chain file
  } catch (e) {
    throw new ServerCertificateInvalid(`${certFile}: not a PEM certificate (${(e as Error).message})`);
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    throw new ServerCertificateInvalid(`${keyFile}: not a PEM private key (${(e as Error).message})`);
  }
  if (!leaf.checkPrivateKey(key)) throw new ServerCertificateInvalid(`${keyFile} is not the private key of the certificate in ${certFile}`);
  if (now < Date.parse(leaf.validFrom)) throw new ServerCertificateInvalid(`${certFile} is not valid before ${leaf.validFrom}`);
  if (now >= Date.parse(leaf.validTo)) throw new ServerCertificateInvalid(`${certFile} expired on ${leaf.validTo}`);
  return { certPem, keyPem, subject: leaf.subject.replace(/\n/g, ', '), notAfter: leaf.validTo };
}
