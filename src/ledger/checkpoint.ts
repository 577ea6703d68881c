// C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): origin, tree size, base64 root hash, as a signed note.
import { CheckpointMalformed } from './errors.js';
import { b64, parseHashB64 } from './hash.js';
import { openNote, signNote, type NoteSigner, type NoteVerifier } from './note.js';

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
}

export interface SignedCheckpoint extends Checkpoint {
  /** The full signed note, exactly as served at /checkpoint. */
  note: string;
}

export function formatCheckpointBody(cp: Checkpoint): string {
  if (cp.origin.length === 0 || cp.origin.includes('\n')) throw new CheckpointMalformed('bad_origin', 'origin must be one non-empty line');
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) throw new CheckpointMalformed('bad_size', `bad tree size ${cp.size}`);
  return `${cp.origin}\n${cp.size}\n${b64(cp.rootHash)}\n`;
}

/** Parses the note text; extension lines are refused because we never write them and cannot audit them. */
export function parseCheckpointBody(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new CheckpointMalformed('no_final_newline', 'checkpoint text must end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new CheckpointMalformed('too_few_lines', `checkpoint has ${lines.length} lines, needs origin, size and root`);
  const [origin, sizeLine, rootLine] = lines as [string, string, string];
  if (origin.length === 0) throw new CheckpointMalformed('bad_origin', 'checkpoint origin is empty');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine)) throw new CheckpointMalformed('bad_size', `tree size ${JSON.stringify(sizeLine)} is not a decimal without leading zeros`);
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw new CheckpointMalformed('bad_size', `tree size ${sizeLine} is too large`);
  const rootHash = parseHashB64(rootLine);
  if (!rootHash) throw new CheckpointMalformed('bad_root', `root hash ${JSON.stringify(rootLine)} is not base64 of 32 bytes`);
  if (lines.length > 3) throw new CheckpointMalformed('extension_lines', 'checkpoint has extension lines, which this log never writes');
  return { origin, size, rootHash };
}

export function signCheckpoint(cp: Checkpoint, signer: NoteSigner | readonly NoteSigner[]): SignedCheckpoint {
  const note = signNote(formatCheckpointBody(cp), Array.isArray(signer) ? signer : [signer as NoteSigner]);
  return { ...cp, note };
}

/**
 * Verifies the note signature with the log key, then parses the body. The origin must equal the
 * expected origin (default: the key name, as tlog-checkpoint says the key name SHOULD match the origin).
 */
export function openCheckpoint(note: string, verifier: NoteVerifier, expectedOrigin: string = verifier.name): SignedCheckpoint {
  return openCheckpointWith(note, [verifier], expectedOrigin);
}

/** openCheckpoint trusting any of `verifiers` (a log's current key and the keys it replaced). */
export function openCheckpointWith(note: string, verifiers: readonly NoteVerifier[], expectedOrigin: string): SignedCheckpoint {
  const opened = openNote(note, verifiers);
  const cp = parseCheckpointBody(opened.text);
  if (cp.origin !== expectedOrigin) throw new CheckpointMalformed('origin_mismatch', `checkpoint origin ${JSON.stringify(cp.origin)} is not the expected ${JSON.stringify(expectedOrigin)}`);
  return { ...cp, note };
}
