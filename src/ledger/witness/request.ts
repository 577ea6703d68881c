// The add-checkpoint request body (C2SP tlog-witness "add-checkpoint"): an old size line, zero or more
// consistency proof lines, an empty line, then the checkpoint note.
import { parseHashB64 } from '../hash.js';
import { WitnessRefusal } from './errors.js';

/** "The client MUST NOT send more than 63 consistency proof lines." */
export const MAX_PROOF_LINES = 63;

export interface AddCheckpointRequest {
  oldSize: number;
  proof: Buffer[];
  /** The submitted checkpoint, a signed note (possibly with several signatures). */
  checkpoint: string;
}

export function formatAddCheckpointRequest(r: { oldSize: number; proof: readonly Uint8Array[]; checkpoint: string }): string {
  return `old ${r.oldSize}\n${r.proof.map((h) => Buffer.from(h).toString('base64') + '\n').join('')}\n${r.checkpoint}`;
}

export function parseAddCheckpointRequest(body: string): AddCheckpointRequest {
  const blank = body.indexOf('\n\n');
  if (blank < 0) throw new WitnessRefusal(400, 'malformed_request', 'request has no empty line between the old size and proof lines and the checkpoint');
  const head = body.slice(0, blank).split('\n');
  const checkpoint = body.slice(blank + 2);
  const m = /^old (0|[1-9][0-9]*)$/.exec(head[0]!);
  if (!m) throw new WitnessRefusal(400, 'malformed_old_size', 'the first line must be "old <size>", a decimal without leading zeros');
  const oldSize = Number(m[1]);
  if (!Number.isSafeInteger(oldSize)) throw new WitnessRefusal(400, 'malformed_old_size', 'old size is too large');
  const lines = head.slice(1);
  if (lines.length > MAX_PROOF_LINES) throw new WitnessRefusal(400, 'proof_too_long', `request has ${lines.length} consistency proof lines, at most ${MAX_PROOF_LINES} are allowed`);
  const proof = lines.map((l, i) => {
    const h = parseHashB64(l);
    if (!h) throw new WitnessRefusal(400, 'malformed_proof', `consistency proof line ${i + 1} is not base64 of a 32-byte hash`);
    return h;
  });
  return { oldSize, proof, checkpoint };
}
