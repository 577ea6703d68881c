// A small FAKE of an external upstream model server (not Warden code), for failure cases the demo server
// does not produce: error statuses, hangs, slow streams that record when the client went away.
import { createServer, type Server, type ServerResponse, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeUpstream {
  url: string;
  server: Server;
  /** Set when a streaming response's connection was closed by Warden before the stream finished. */
  aborted: Promise<void>;
  /** Every request received, in arrival order; `aborted` turns true when Warden closed the connection before the answer finished. */
  requests: { path: string; headers: IncomingMessage['headers']; body: string; aborted: boolean }[];
  close(): Promise<void>;
}

export async function startFakeUpstream(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<FakeUpstream> {
  let markAborted!: () => void;
  const aborted = new Promise<void>((r) => (markAborted = r));
  const requests: FakeUpstream['requests'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const entry = { path: req.url ?? '', headers: req.headers, body, aborted: false };
      requests.push(entry);
      res.on('close', () => {
        if (!res.writableFinished) {
          entry.aborted = true;
          markAborted();
        }
      });
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    server,
    aborted,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
