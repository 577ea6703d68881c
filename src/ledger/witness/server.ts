// The witness's HTTP interface (C2SP tlog-witness): `POST <prefix>/add-checkpoint`. Requests carry no
// credential: the log's signature on the checkpoint is the only authentication the protocol has.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isWardenError } from '../../core/errors.js';
import { readBody } from '../../http/body.js';
import { WitnessRefusal } from './errors.js';
import type { Witness } from './witness.js';

/** A checkpoint with up to 64 signatures and 63 proof lines fits easily; anything larger is not a submission. */
export const MAX_REQUEST_BYTES = 32 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function sendText(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...extra });
  res.end(body);
}

export interface WitnessHandlerOptions {
  /** Called for each refused submission (for the operator's log). */
  onRefusal?: (e: WitnessRefusal, req: IncomingMessage) => void;
}

export function createWitnessHandler(witness: Witness, opts: WitnessHandlerOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://witness.invalid').pathname;
    if (path !== '/add-checkpoint') return sendText(res, 404, `no witness resource at ${path}\n`);
    if (req.method !== 'POST') return sendText(res, 405, 'add-checkpoint takes POST\n', undefined, { allow: 'POST' });
    let body: string;
    try {
      body = utf8.decode(await readBody(req, MAX_REQUEST_BYTES));
    } catch (e) {
      if (isWardenError(e)) return sendText(res, e.status, `${e.message}\n`);
      if (e instanceof TypeError) throw new WitnessRefusal(400, 'invalid_utf8', 'request body is not valid UTF-8');
      throw e;
    }
    const cosignature = witness.addCheckpoint(body);
    sendText(res, 200, cosignature);
  }
  return (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) return res.destroy();
      if (e instanceof WitnessRefusal) {
        opts.onRefusal?.(e, req);
        // 409 on an old-size mismatch: "The response body MUST consist of the tree size of the latest cosigned
        // checkpoint in decimal, followed by a newline ... Content-Type of text/x.tlog.size."
        if (e.status === 409 && e.knownSize !== undefined) return sendText(res, 409, `${e.knownSize}\n`, 'text/x.tlog.size', { 'warden-refusal': e.code });
        return sendText(res, e.status, `${e.code}: ${e.message}\n`);
      }
      sendText(res, 500, 'the witness failed to answer\n');
    });
  };
}

export interface RunningWitness {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function startWitnessServer(witness: Witness, port: number, host = '127.0.0.1', opts: WitnessHandlerOptions = {}): Promise<RunningWitness> {
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, createWitnessHandler(witness, opts));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
