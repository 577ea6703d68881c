// A private IdP's CA, given as a file (`oidc.issuers[].caFile`): read and checked at start-up, so a missing,
// unreadable or non-certificate file refuses the start instead of failing every token later.
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { IdentityConfigError } from '../errors.js';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/g;

/** Returns the PEM bundle (one or more certificates) in `file`, or throws IdentityConfigError naming it. */
export function loadIssuerCaFile(issuer: string, file: string): string {
  const fail = (what: string): never => {
    throw new IdentityConfigError(`oidc issuer ${JSON.stringify(issuer)}: caFile ${file}: ${what}`);
  };
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    fail(`cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) fail('holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  blocks.forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch (e) {
      fail(`certificate ${i + 1} does not parse (${(e as Error).message})`);
    }
  });
  return blocks.join('\n') + '\n';
}
