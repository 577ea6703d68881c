// A witness's refusals carry the HTTP status C2SP tlog-witness prescribes for each case.
export class WitnessRefusal extends Error {
  readonly status: number;
  readonly code: string;
  /** For 409: the size of the latest checkpoint cosigned for the origin (the `text/x.tlog.size` body). */
  readonly knownSize: number | undefined;
  constructor(status: number, code: string, message: string, knownSize?: number) {
    super(message);
    this.name = 'WitnessRefusal';
    this.status = status;
    this.code = code;
    this.knownSize = knownSize;
  }
}
