// Worker thread body for the hash pool: streams one file at a time through SHA-256 so that several
// files are hashed on several cores while the event loop stays free.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { parentPort, type MessagePort } from 'node:worker_threads';

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
    const fh = await open(job.path, 'r');
    try {
      const h = createHash('sha256');
      let size = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        h.update(buf.subarray(0, bytesRead));
        size += bytesRead;
        port.postMessage({ id: job.id, kind: 'progress', bytes: bytesRead } satisfies HashReply);
      }
      port.postMessage({ id: job.id, kind: 'done', sha256: h.digest('hex'), size } satisfies HashReply);
    } finally {
      await fh.close();
    }
  } catch (e) {
    port.postMessage({ id: job.id, kind: 'error', message: (e as Error).message } satisfies HashReply);
  }
}
