// Worker thread body for the hash pool: streams one file at a time through SHA-256 so that several
// files are hashed on several cores while the event loop stays free.
import { parentPort, type MessagePort } from 'node:worker_threads';
import { sha256File } from './file-digest.js';

export interface HashJob {
  id: number;
  path: string;
}
export type HashReply =
  | { id: number; kind: 'progress'; bytes: number }
  | { id: number; kind: 'done'; sha256: string; size: number }
  | { id: number; kind: 'error'; message: string };

const CHUNK = 4 * 1024 * 1024;
const port = parentPort;
if (port) {
  const buf = Buffer.allocUnsafe(CHUNK);
  // hashFile reports its own failures to the parent, so its promise never rejects.
  port.on('message', (job: HashJob) => void hashFile(port, buf, job));
}

async function hashFile(port: MessagePort, buf: Buffer, job: HashJob): Promise<void> {
  try {
    const r = await sha256File(job.path, buf, (bytes) => port.postMessage({ id: job.id, kind: 'progress', bytes } satisfies HashReply));
    port.postMessage({ id: job.id, kind: 'done', ...r } satisfies HashReply);
  } catch (e) {
    port.postMessage({ id: job.id, kind: 'error', message: (e as Error).message } satisfies HashReply);
  }
}
