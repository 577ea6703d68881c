// Evervault Cages publish their attestation document inside their TLS certificate: the COSE_Sign1
// bytes, hex-encoded, as the leading label(s) of one SubjectAltName DNS entry ahead of the cage hostname.
// This extracts those bytes; they are then verified like any other Nitro document.
import 'reflect-metadata';
import { SubjectAlternativeNameExtension, X509Certificate } from '@peculiar/x509';
import { AttestationMalformed } from '../errors.js';

const SAN = '2.5.29.17';
const HEX_LABEL = /^[0-9a-f]+$/;

export function extractNitroDocumentFromCertificate(cert: Uint8Array | string): Buffer {
  let c: X509Certificate;
  try {
    c = new X509Certificate(cert);
  } catch (e) {
    throw new AttestationMalformed(`certificate does not parse (${(e as Error).message})`);
  }
  const san = c.getExtension<SubjectAlternativeNameExtension>(SAN);
  if (!san) throw new AttestationMalformed('certificate has no SubjectAltName, so it embeds no attestation document');
  for (const name of san.names.items) {
    if (name.type !== 'dns') continue;
    const labels = name.value.split('.');
    const hexLabels: string[] = [];
    for (const l of labels) {
      if (!HEX_LABEL.test(l)) break;
      hexLabels.push(l);
    }
    const hex = hexLabels.join('');
    // A real document is kilobytes; a short hex-looking label (e.g. a hostname part) is not one.
    if (hex.length >= 256 && hex.length % 2 === 0) return Buffer.from(hex, 'hex');
  }
  throw new AttestationMalformed('no SubjectAltName DNS entry carries a hex-encoded attestation document');
}
