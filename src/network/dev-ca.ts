// The dev certificate authority of the embedded default: generated on first run in the data dir,
// issues the listeners' server certificates. Private keys are written mode 0600.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto, createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
x509.cryptoProvider.set(webcrypto as any);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

function writeSecret(file: string, pem: string): void {
  writeFileSync(file, pem, { mode: 0o600 });
  chmodSync(file, 0o600);
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
}

export async function createCa(commonName: string): Promise<CertAndKey> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}`,
    keys,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 5 * 365 * 86_400_000),
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

export async function issueServerCert(ca: CertAndKey, hosts: string[], days = 90): Promise<CertAndKey> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importKeyPem(ca.keyPem);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const names = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h }));
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${hosts[0] ?? 'warden'}`,
    issuer: caCert.subject,
    publicKey: keys.publicKey,
    signingKey: caKey,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * 86_400_000),
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

export interface DevPki {
  caPemPath: string;
  caCertPem: string;
  server: CertAndKey;
  createdCa: boolean;
}

/**
 * Loads the dev CA from the data dir or creates it, then issues (or reuses, while valid for 7 more days)
 * the server certificate for the listener hosts.
 */
export async function ensureDevPki(dataDir: string, hosts: string[]): Promise<DevPki> {
  const caPemPath = join(dataDir, 'ca.pem');
  const caKeyPath = join(dataDir, 'ca-key.pem');
  const srvPath = join(dataDir, 'server.pem');
  const srvKeyPath = join(dataDir, 'server-key.pem');
  let createdCa = false;
  let ca: CertAndKey;
  if (existsSync(caPemPath) && existsSync(caKeyPath)) {
    ca = { certPem: readFileSync(caPemPath, 'utf8'), keyPem: readFileSync(caKeyPath, 'utf8') };
  } else {
    ca = await createCa('Warden dev CA');
    writeFileSync(caPemPath, ca.certPem, { mode: 0o644 });
    writeSecret(caKeyPath, ca.keyPem);
    createdCa = true;
  }
  let server: CertAndKey | undefined;
  if (!createdCa && existsSync(srvPath) && existsSync(srvKeyPath)) {
    const pem = readFileSync(srvPath, 'utf8');
    const cert = new X509Certificate(pem);
    const coversHosts = hosts.every((h) => cert.checkHost(h) !== undefined || cert.checkIP(h) !== undefined);
    const fresh = Date.parse(cert.validTo) - Date.now() > 7 * 86_400_000;
    if (coversHosts && fresh && cert.verify(new X509Certificate(ca.certPem).publicKey)) {
      server = { certPem: pem, keyPem: readFileSync(srvKeyPath, 'utf8') };
    }
  }
  if (!server) {
    server = await issueServerCert(ca, hosts);
    writeFileSync(srvPath, server.certPem, { mode: 0o644 });
    writeSecret(srvKeyPath, server.keyPem);
  }
  return { caPemPath, caCertPem: ca.certPem, server, createdCa };
}
