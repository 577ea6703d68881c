// Loads the real attestation samples in test/fixtures with the expectations computed by their collection.
import { readFileSync } from 'node:fs';
import { testdata } from '../../helpers/testdata.js';
import { extractNitroDocumentFromCertificate } from '../../../src/workload/attestation/nitro/evervault-cert.js';
import { createTrustAnchors } from '../../../src/workload/attestation/trust.js';

export interface NitroExpectation {
  file: string;
  input_format?: 'base64' | 'cbor' | 'cert-pem' | 'cert-der';
  timestamp_ms?: number;
  pcrs?: Record<string, string>;
  nonce?: string | null;
  public_key?: string | null;
  module_id?: string;
  cose_signature_valid?: boolean;
  fully_valid_at_doc_time?: boolean;
  leaf_not_after?: string;
  error?: string;
}

export const nitroExpectations: NitroExpectation[] = JSON.parse(
  readFileSync(testdata('nitro_attestation', 'EXPECTED_VERIFICATION.json'), 'utf8'),
);

export function loadNitroDocument(e: NitroExpectation): Buffer {
  const path = testdata('nitro_attestation', e.file);
  switch (e.input_format) {
    case 'base64':
      return Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    case 'cbor':
      return readFileSync(path);
    case 'cert-pem':
      return extractNitroDocumentFromCertificate(readFileSync(path, 'utf8'));
    case 'cert-der':
      return extractNitroDocumentFromCertificate(readFileSync(path));
    default:
      throw new Error(`no input format for ${e.file}`);
  }
}

export const awsNitroRootPem = readFileSync(testdata('nitro_attestation', 'root.pem'), 'utf8');

export function realTrust() {
  return createTrustAnchors({
    nitroRootsPem: [awsNitroRootPem],
    amdPem: [
      readFileSync(testdata('sev_snp_tdx', 'go-sev-guest/verify/trust/ask_ark_milan.pem'), 'utf8'),
      readFileSync(testdata('sev_snp_tdx', 'go-sev-guest/verify/trust/ask_ark_milan_vlek.pem'), 'utf8'),
      readFileSync(testdata('sev_snp_tdx', 'go-sev-guest/verify/trust/ask_ark_genoa.pem'), 'utf8'),
    ],
  });
}

export function snpFile(...parts: string[]): Buffer {
  return readFileSync(testdata('sev_snp_tdx', ...parts));
}
