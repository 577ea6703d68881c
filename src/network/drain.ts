// Graceful shutdown of a listener (SIGTERM): stop accepting connections, let the requests and streams under
// way finish up to a deadline, then have them cut (each cut one still ends with its own error and ledger entry).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface DrainResult {
  /** Requests still under way at the deadline, which `cut` was asked to end. */
  cut: number;
  /** Requests still open after the cut's grace period, whose connections were closed outright. */
  dropped: number;
}

export class ListenerDrain {
  private inFlight = 0;
  private draining = false;
  private onIdle: (() => void) | null = null;

  constructor(private readonly server: Server) {}

  /** Wraps a request handler so that the drain knows what is under way. */
  track(handle: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      this.inFlight++;
      res.once('close', () => this.done());
      // A request that arrives on a kept-alive connection while draining is served, and the connection closed after.
      if (this.draining) res.setHeader('connection', 'close');
      handle(req, res);
    };
  }

  get active(): number {
    return this.inFlight;
  }

  /**
   * Stops accepting (the listening socket closes: new connections are refused), closes idle kept-alive
   * connections, and waits for the requests under way. At `deadlineMs` calls `cut` (which should end them
   * with an error) and waits `graceMs` more for them to write their endings before closing every connection.
   */
  async drain(deadlineMs: number, cut: () => void, graceMs = 5_000): Promise<DrainResult> {
    this.draining = true;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeIdleConnections();
    let cutCount = 0;
    if (!(await this.idleWithin(deadlineMs))) {
      cutCount = this.inFlight;
      cut();
      await this.idleWithin(graceMs);
    }
    const dropped = this.inFlight;
    this.server.closeAllConnections();
    await closed;
    return { cut: cutCount, dropped };
  }

  private done(): void {
    this.inFlight--;
    if (!this.draining) return;
    this.server.closeIdleConnections();
    if (this.inFlight === 0) this.onIdle?.();
  }

  private idleWithin(ms: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.onIdle = null;
        resolve(false);
      }, ms);
      this.onIdle = () => {
        clearTimeout(timer);
        this.onIdle = null;
        resolve(true);
      };
    });
  }
}
