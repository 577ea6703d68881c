import { Forbidden } from '../../core/errors.js';

/** SLSA provenance missing, unsigned, unbound to the artifact, or failing policy. */
export class ProvenanceRejected extends Forbidden {
  constructor(message: string) {
    super('provenance_rejected', message);
  }
}

/** The SBOM is not CycloneDX JSON we understand or does not describe this artifact. */
export class SbomRejected extends Forbidden {
  constructor(message: string) {
    super('sbom_rejected', message);
  }
}
