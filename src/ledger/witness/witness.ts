// A C2SP tlog-witness: cosigns a log's checkpoint only after checking the log's signature and that the
// checkpoint extends, by a valid consistency proof, the latest checkpoint it cosigned for that origin.
// A log rolled back or forked after a witness saw it can never again get that witness's cosignature.
import type { Clock } from '../../core/clock.js';
import type { SqliteWitnessStore, WitnessedState } from '../../store/witness-sqlite.js';
import { parseCheckpointBody } from '../checkpoint.js';
import { cosign, type CosignatureSigner } from '../cosignature.js';
import { ConsistencyProofInvalid, LedgerVerificationError, NoteSignatureInvalid } from '../errors.js';
import { b64, EMPTY_ROOT, hashEquals } from '../hash.js';
import { verifyConsistency } from '../merkle-verify.js';
import { openNote, parseNote, type NoteVerifier } from '../note.js';
import { WitnessRefusal } from './errors.js';
import { parseAddCheckpointRequest } from './request.js';

export interface WitnessOptions {
  store: SqliteWitnessStore;
  signer: CosignatureSigner;
  /** The logs this witness follows: each key's name is the origin it signs for (tlog-checkpoint). */
  logKeys: readonly NoteVerifier[];
  clock: Clock;
}

export class Witness {
  private readonly logKeys = new Map<string, NoteVerifier[]>();

  constructor(private readonly opts: WitnessOptions) {
    for (const k of opts.logKeys) (this.logKeys.get(k.name) ?? this.logKeys.set(k.name, []).get(k.name)!).push(k);
  }

  get origins(): string[] {
    return [...this.logKeys.keys()];
  }

  /** Handles one add-checkpoint body; returns the cosignature line(s) or throws a WitnessRefusal. */
  addCheckpoint(body: string): string {
    const req = parseAddCheckpointRequest(body);
    let text: string;
    let origin: string;
    let size: number;
    let rootHash: Buffer;
    try {
      text = parseNote(req.checkpoint).text;
      // Extension lines are cosigned as part of the body but vouch for nothing (tlog-cosignature), so only
      // the first three lines are parsed.
      const [o, s, r] = text.split('\n');
      ({ origin, size, rootHash } = parseCheckpointBody(`${o}\n${s}\n${r}\n`));
    } catch (e) {
      if (e instanceof LedgerVerificationError) throw new WitnessRefusal(400, 'malformed_checkpoint', `checkpoint does not parse: ${e.message}`);
      throw e;
    }
    // "If the checkpoint origin is unknown, the witness MUST respond with a 404 Not Found."
    const keys = this.logKeys.get(origin);
    if (!keys) throw new WitnessRefusal(404, 'unknown_origin', `this witness does not follow a log with origin ${JSON.stringify(origin)}`);
    // "If none of the signatures verify against a trusted public key, ... 403 Forbidden."
    try {
      openNote(req.checkpoint, keys);
    } catch (e) {
      if (e instanceof NoteSignatureInvalid) throw new WitnessRefusal(403, 'bad_log_signature', `checkpoint is not signed by a key trusted for ${origin}: ${e.message}`);
      throw e;
    }
    // "The old size MUST be equal to or lower than the checkpoint size. Otherwise ... 400 Bad Request."
    if (req.oldSize > size) throw new WitnessRefusal(400, 'old_size_beyond_checkpoint', `old size ${req.oldSize} is larger than the checkpoint size ${size}`);

    const now = this.opts.clock.now();
    try {
      this.opts.store.advance(origin, (current) => this.check(current, req.oldSize, req.proof, { origin, size, rootHash, note: req.checkpoint }), now);
    } catch (e) {
      // The signature is valid, so a refused proof or a second root for a size is evidence of a forked log.
      if (e instanceof WitnessRefusal && (e.status === 422 || e.code === 'root_mismatch')) {
        this.opts.store.recordEvidence({ origin, oldSize: req.oldSize, proof: req.proof.map(b64), note: req.checkpoint, reason: e.code, receivedAt: now });
      }
      throw e;
    }
    return cosign(text, this.opts.signer, Math.floor(now / 1000));
  }

  private check(current: WitnessedState | null, oldSize: number, proof: Buffer[], next: WitnessedState): WitnessedState {
    const known = current?.size ?? 0;
    // "The witness MUST check that the old size matches the size of the latest checkpoint it cosigned ... 409."
    if (oldSize !== known) throw new WitnessRefusal(409, 'old_size_mismatch', `old size ${oldSize} is not the size of the latest cosigned checkpoint (${known})`, known);
    const knownRoot = current?.rootHash ?? EMPTY_ROOT;
    if (oldSize === next.size) {
      // "If the old size matches the checkpoint size, the witness MUST check that the root hashes are also identical ... 409."
      if (!hashEquals(knownRoot, next.rootHash)) throw new WitnessRefusal(409, 'root_mismatch', `checkpoint at size ${next.size} has a different root than the one cosigned at that size: the log forked`, known);
      if (proof.length !== 0) throw new WitnessRefusal(422, 'proof_not_empty', 'trees of equal size need an empty consistency proof');
      return next;
    }
    // "The proof MUST be empty if the old size is zero"; otherwise it must verify (RFC 6962 §2.1.2), or 422.
    try {
      verifyConsistency(oldSize, next.size, knownRoot, next.rootHash, proof);
    } catch (e) {
      if (e instanceof ConsistencyProofInvalid) throw new WitnessRefusal(422, 'inconsistent', `consistency proof from size ${oldSize} to ${next.size} does not verify (${e.code}): ${e.message}`);
      throw e;
    }
    return next;
  }
}
