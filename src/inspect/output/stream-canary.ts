// Canary detection over a streamed answer: the same findings as detectCanary on the whole text, for
// any chunking, reported at the chunk that completes each leak. Like detectCanary it reads only the
// letters and digits (so a token spread out by spaces, dots or zero-width characters, or lower-cased,
// is still caught), and it keeps only a rolling window of the last token-length-minus-one of them:
// constant memory per stream, and each character is looked at a bounded number of times.
import type { Finding } from '../../core/types.js';
import { InvalidCanary, type Canary } from './canary.js';

export class StreamCanaryClosed extends Error {
  constructor() {
    super('stream canary detector: push after flush');
    this.name = 'StreamCanaryClosed';
  }
}

export interface StreamCanaryDetector {
  /** Leaks completed by this chunk; offsets count from the start of the whole stream. */
  push(chunk: string): Finding[];
  /** End of stream. A leak is always complete at the chunk that ends it, so this only closes. */
  flush(): Finding[];
}

function upperAlnum(c: number): number {
  if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90)) return c;
  if (c >= 97 && c <= 122) return c - 32;
  return -1;
}

export function createStreamCanaryDetector(canary: Canary): StreamCanaryDetector {
  const token = canary.token.toUpperCase();
  if (token.length < 8) throw new InvalidCanary('canary token too short to detect reliably');
  /** Upper-cased letters and digits not yet ruled out as the start of a leak, and where each came from. */
  let squeezed = '';
  let origins: number[] = [];
  /** Characters of the stream consumed before the current chunk. */
  let streamOffset = 0;
  let done = false;

  return {
    push(chunk: string): Finding[] {
      if (done) throw new StreamCanaryClosed();
      for (let i = 0; i < chunk.length; i++) {
        const c = upperAlnum(chunk.charCodeAt(i));
        if (c === -1) continue;
        squeezed += String.fromCharCode(c);
        origins.push(streamOffset + i);
      }
      streamOffset += chunk.length;
      const found: Finding[] = [];
      // Left to right, non-overlapping: the order in which detectCanary reports leaks of the whole text.
      let from = 0;
      for (let k = squeezed.indexOf(token); k !== -1; k = squeezed.indexOf(token, from)) {
        const start = origins[k]!;
        const end = origins[k + token.length - 1]! + 1;
        found.push({ category: 'output', type: 'canary_leak', start, end, confidence: end - start === token.length ? 1 : 0.95 });
        from = k + token.length;
      }
      // A later leak needs at least one character still to come, so it starts within the last
      // token.length - 1 characters; nothing before `from` may start one (no overlaps).
      const keepFrom = Math.max(from, squeezed.length - (token.length - 1));
      if (keepFrom > 0) {
        squeezed = squeezed.slice(keepFrom);
        origins = origins.slice(keepFrom);
      }
      return found;
    },
    flush(): Finding[] {
      done = true;
      return [];
    },
  };
}
