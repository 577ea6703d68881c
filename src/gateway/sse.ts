// Splits an upstream SSE byte stream into whole events as they arrive, so each event can be relayed (and
// inspected) at once; only an incomplete trailing event is held. Handles LF and CRLF line endings.
import { StringDecoder } from 'node:string_decoder';

export class SseSplitter {
  private buf = '';
  private readonly decoder = new StringDecoder('utf8');

  /** Returns the complete events (each without its terminating blank line) contained so far. */
  push(chunk: Buffer): string[] {
    this.buf += this.decoder.write(chunk);
    const out: string[] = [];
    for (;;) {
      const lf = this.buf.indexOf('\n\n');
      const crlf = this.buf.indexOf('\r\n\r\n');
      let end: number;
      let sep: number;
      if (lf === -1 && crlf === -1) break;
      if (crlf !== -1 && (lf === -1 || crlf < lf)) {
        end = crlf;
        sep = 4;
      } else {
        end = lf;
        sep = 2;
      }
      out.push(this.buf.slice(0, end));
      this.buf = this.buf.slice(end + sep);
    }
    return out;
  }

  /** What is left when the upstream ends (an unterminated final event), or ''. */
  end(): string {
    this.buf += this.decoder.end();
    const rest = this.buf;
    this.buf = '';
    return rest.trim() === '' ? '' : rest;
  }
}

/** The `data:` payload of an event (joined across data lines), or null if it has none. */
export function eventData(event: string): string | null {
  let data: string | null = null;
  for (const line of event.split(/\r?\n/)) {
    if (line.startsWith('data:')) {
      const v = line.slice(line.charCodeAt(5) === 32 ? 6 : 5);
      data = data === null ? v : data + '\n' + v;
    }
  }
  return data;
}
