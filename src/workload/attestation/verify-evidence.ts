// The one entry point: dispatch by evidence type to the matching verifier, and make sure whatever
// goes wrong comes out as a typed AttestationError (fail closed; never an untyped crash or a pass).
import { isWardenError } from '../../core/errors.js';
import { AttestationError, AttestationMalformed } from './errors.js';
import { verifyJwtEvidence } from './jwt/verify.js';
import { verifyNitroEvidence } from './nitro/verify.js';
import { verifySevSnpEvidence } from './sev-snp/verify.js';
import { verifyTdxEvidence } from './tdx/verify.js';
import type { Evidence, ReferenceValues, VerifiedEvidence, VerifyOptions } from './types.js';

export async function verifyEvidence(evidence: Evidence, reference: ReferenceValues, opts: VerifyOptions): Promise<VerifiedEvidence> {
  try {
    if (typeof evidence !== 'object' || evidence === null) throw new AttestationMalformed('evidence is not an object');
    if (evidence.type !== reference.type)
      throw new AttestationMalformed(`evidence is of type ${JSON.stringify(evidence.type)}, the deployment requires ${reference.type}`);
    switch (evidence.type) {
      case 'nitro':
        return await verifyNitroEvidence(evidence, reference as Extract<ReferenceValues, { type: 'nitro' }>, opts);
      case 'sev-snp':
        return await verifySevSnpEvidence(evidence, reference as Extract<ReferenceValues, { type: 'sev-snp' }>, opts);
      case 'tdx':
        return await verifyTdxEvidence(evidence, reference as Extract<ReferenceValues, { type: 'tdx' }>, opts);
      case 'jwt':
        return await verifyJwtEvidence(evidence, reference as Extract<ReferenceValues, { type: 'jwt' }>, opts);
      default:
        throw new AttestationMalformed(`unknown evidence type ${JSON.stringify((evidence as { type?: unknown }).type)}`);
    }
  } catch (e) {
    if (e instanceof AttestationError) throw e;
    if (isWardenError(e)) throw e;
    throw new AttestationMalformed(`evidence could not be processed (${(e as Error)?.message ?? String(e)})`);
  }
}
