// Worker thread body for dataset hashing on the workload plane's pool (runWorkerPool): a whole file's SHA-256,
// the leaves of a range of JSONL records, the leaves and lines of a CSV file, or the root over a shard's leaves
// (one SHA-256 per inner node: as many hash calls as the leaves, so not on the calling thread either). Leaves go
// back as one packed buffer, transferred rather than copied.
import { parentPort, type MessagePort } from 'node:worker_threads';
import { sha256File } from '../../workload/signing/file-digest.js';
import { csvLeaves, jsonlLeavesOfRange } from './record-leaves.js';
import { merkleRootOfPacked } from './records.js';

export type RecordJob =
  | { kind: 'file'; path: string }
  | { kind: 'jsonl'; path: string; start: number; end: number }
  | { kind: 'csv'; path: string }
  | { kind: 'root'; leaves: Uint8Array };

export type RecordJobResult = { sha256: string; size: number } | { leaves: Uint8Array; lines?: Uint32Array } | { root: string };

const port = parentPort;
if (port) {
  const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
  port.on('message', (job: RecordJob) => void run(port, buf, job));
}

async function run(port: MessagePort, buf: Buffer, job: RecordJob): Promise<void> {
  const progress = (bytes: number) => port.postMessage({ kind: 'progress', bytes });
  try {
    if (job.kind === 'file') {
      port.postMessage({ kind: 'done', ...(await sha256File(job.path, buf, progress)) });
    } else if (job.kind === 'jsonl') {
      // Record bytes are not progress: the file job of the same shard already counts them.
      const leaves = await jsonlLeavesOfRange(job.path, job.start, job.end);
      port.postMessage({ kind: 'done', leaves }, [leaves.buffer as ArrayBuffer]);
    } else if (job.kind === 'root') {
      port.postMessage({ kind: 'done', root: merkleRootOfPacked(Buffer.from(job.leaves.buffer, job.leaves.byteOffset, job.leaves.byteLength)).toString('hex') });
    } else {
      const { leaves, lines } = await csvLeaves(job.path);
      port.postMessage({ kind: 'done', leaves, lines }, [leaves.buffer as ArrayBuffer, lines.buffer as ArrayBuffer]);
    }
  } catch (e) {
    port.postMessage({ kind: 'error', message: (e as Error).message });
  }
}
