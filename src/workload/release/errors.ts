import { Forbidden } from '../../core/errors.js';

export type ReleaseRejectedCode =
  | 'release_provenance_malformed'
  | 'release_signature_invalid'
  | 'release_statement_invalid'
  | 'release_tarball_mismatch'
  | 'release_sbom_mismatch'
  | 'release_sbom_malformed';

/** A Warden release whose provenance, tarball or SBOM does not check out. */
export class ReleaseRejected extends Forbidden {
  constructor(code: ReleaseRejectedCode, message: string) {
    super(code, message);
  }
}
