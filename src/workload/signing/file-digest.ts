// One file's SHA-256, streamed through a caller-owned buffer: the body of a hash worker's job (model files
// here, dataset files in src/data), kept apart from any worker's message wiring so several workers share it.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

export async function sha256File(path: string, buf: Buffer, onBytes: (n: number) => void): Promise<{ sha256: string; size: number }> {
  const fh = await open(path, 'r');
  try {
    const h = createHash('sha256');
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      size += bytesRead;
      onBytes(bytesRead);
    }
    return { sha256: h.digest('hex'), size };
  } finally {
    await fh.close();
  }
}
