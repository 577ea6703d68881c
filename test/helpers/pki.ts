// A throw-away PKI for tests: a CA, server certificates and client certificates (optionally
// X.509-SVIDs with a SPIFFE ID URI SAN). Keys are generated per run and never written to the repo.
// Gateway e2e tests reuse this; all outputs are PEM so they drop straight into node:tls options.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface TestCa {
  certPem: string;
  keyPem: string;
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

export interface IssuedCert {
  certPem: string;
  keyPem: string;
  /** DER of the certificate, for code that takes raw bytes. */
  der: Buffer;
}

export interface ValidityOptions {
  notBefore?: Date;
  notAfter?: Date;
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privateKeyPem(keys: CryptoKeyPair): Promise<string> {
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const b64 = pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

function serial(): string {
  // Positive 16-byte serial (RFC 5280 §4.1.2.2: positive, at most 20 octets).
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

function validity(opts: ValidityOptions): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: opts.notBefore ?? new Date(now - 60_000), notAfter: opts.notAfter ?? new Date(now + DAY) };
}

async function finish(cert: x509.X509Certificate, keys: CryptoKeyPair): Promise<IssuedCert> {
  return { certPem: cert.toString('pem') + '\n', keyPem: await privateKeyPem(keys), der: Buffer.from(cert.rawData) };
}

export async function makeTestCa(opts: { name?: string } & ValidityOptions = {}): Promise<TestCa> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${opts.name ?? 'Warden Test CA'}`,
    ...validity({ notBefore: opts.notBefore, notAfter: opts.notAfter ?? new Date(Date.now() + 7 * DAY) }),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await privateKeyPem(keys), cert, keys };
}

async function issue(
  ca: TestCa,
  subject: string,
  names: x509.JsonGeneralName[],
  usage: x509.ExtendedKeyUsage,
  opts: ValidityOptions,
): Promise<IssuedCert> {
  const keys = await newKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage], false),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.cert.subject,
    ...validity(opts),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: SIGNING,
    extensions,
  });
  return finish(cert, keys);
}

/** A TLS server certificate for the given DNS names and/or IP addresses. */
export async function issueServerCert(ca: TestCa, hosts: string[], opts: ValidityOptions = {}): Promise<IssuedCert> {
  const names: x509.JsonGeneralName[] = hosts.map((h) => (isIP(h) ? { type: 'ip', value: h } : { type: 'dns', value: h }));
  return issue(ca, `CN=${hosts[0] ?? 'server'}`, names, x509.ExtendedKeyUsage.serverAuth, opts);
}

/**
 * A TLS client certificate. `spiffeId` (one or several, to test the "exactly one URI SAN" rule)
 * becomes URI SANs, as in an X.509-SVID (SPIFFE X509-SVID §2).
 */
export async function issueClientCert(
  ca: TestCa,
  opts: { spiffeId?: string | string[]; cn?: string; dns?: string[] } & ValidityOptions = {},
): Promise<IssuedCert> {
  const uris = opts.spiffeId === undefined ? [] : Array.isArray(opts.spiffeId) ? opts.spiffeId : [opts.spiffeId];
  const names: x509.JsonGeneralName[] = [
    ...uris.map((u): x509.JsonGeneralName => ({ type: 'url', value: u })),
    ...(opts.dns ?? []).map((d): x509.JsonGeneralName => ({ type: 'dns', value: d })),
  ];
  return issue(ca, `CN=${opts.cn ?? 'client'}`, names, x509.ExtendedKeyUsage.clientAuth, opts);
}
