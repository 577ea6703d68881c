// Reads what an X.509-SVID must carry (SPIFFE X509-SVID §2, §4): exactly one URI SAN holding the
// SPIFFE ID, a leaf (not CA) certificate, digitalSignature set and keyCertSign/cRLSign not set.
// The TLS layer has already verified the chain against the trust bundle; this checks the shape.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../../core/clock.js';
import { InvalidClientCertificate } from '../errors.js';

export interface SvidFacts {
  /** The single URI SAN (not yet validated as a SPIFFE ID). */
  uri: string;
  /** SHA-256 over the DER certificate, lowercase hex. */
  fingerprint: string;
  notAfter: number;
}

interface ParsedSvid extends SvidFacts {
  notBefore: number;
}

/** ASN.1 parsing costs ~1-2 ms per certificate; the SVID facts never change for given DER bytes,
 * so they are cached by fingerprint. Only successful parses are cached; validity is re-checked
 * against the clock on every call. */
const parsed = new LRUCache<string, ParsedSvid>({ max: 10_000 });

export function readSvid(der: Uint8Array, clock: Clock): SvidFacts {
  const fingerprint = createHash('sha256').update(der).digest('hex');
  const facts = parsed.get(fingerprint) ?? parse(der, fingerprint);
  parsed.set(fingerprint, facts);
  const now = clock.now();
  // Defence in depth: node:tls checks validity too, but a certificate handed over by a proxy
  // (or a test) has not necessarily been through a handshake at this instant.
  if (facts.notBefore > now) throw new InvalidClientCertificate('certificate_not_yet_valid');
  if (facts.notAfter <= now) throw new InvalidClientCertificate('certificate_expired');
  return { uri: facts.uri, fingerprint: facts.fingerprint, notAfter: facts.notAfter };
}

function parse(der: Uint8Array, fingerprint: string): ParsedSvid {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(der);
  } catch {
    throw new InvalidClientCertificate('certificate_unparseable');
  }
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  if (basic?.ca) throw new InvalidClientCertificate('svid_is_ca'); // X509-SVID §4.1
  const usage = cert.getExtension(x509.KeyUsagesExtension);
  if (usage) {
    // X509-SVID §4.3: leaf SVIDs MUST set digitalSignature and MUST NOT set keyCertSign or cRLSign.
    if ((usage.usages & x509.KeyUsageFlags.digitalSignature) === 0) throw new InvalidClientCertificate('svid_key_usage');
    if ((usage.usages & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)) !== 0) {
      throw new InvalidClientCertificate('svid_key_usage');
    }
  }
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const uris = san ? san.names.items.filter((n) => n.type === 'url').map((n) => n.value) : [];
  // X509-SVID §2: "An X.509 SVID MUST contain exactly one URI SAN".
  if (uris.length === 0) throw new InvalidClientCertificate('svid_no_uri_san');
  if (uris.length > 1) throw new InvalidClientCertificate('svid_multiple_uri_sans');
  return { uri: uris[0]!, fingerprint, notBefore: cert.notBefore.getTime(), notAfter: cert.notAfter.getTime() };
}
