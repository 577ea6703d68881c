// JSON lines ({index, leafHash, entry} per line, as `exportJsonLines`) appended to a file (fsync'd before the
// batch counts as delivered) or POSTed to a webhook as application/x-ndjson (a 2xx is the acknowledgement).
import { open } from 'node:fs/promises';
import { AcknowledgedDestination, postBatch } from './exporter.js';
import type { ExportRecord } from './record.js';

const lines = (records: ExportRecord[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';

export class JsonlFileDestination extends AcknowledgedDestination {
  readonly name = 'file';

  constructor(private readonly path: string) {
    super();
  }

  async send(records: ExportRecord[]): Promise<void> {
    const f = await open(this.path, 'a', 0o600);
    try {
      await f.writeFile(lines(records));
      await f.sync();
    } finally {
      await f.close();
    }
  }
}

export class WebhookDestination extends AcknowledgedDestination {
  readonly name = 'webhook';

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {
    super();
  }

  send(records: ExportRecord[]): Promise<void> {
    return postBatch(this.url, 'application/x-ndjson', lines(records), this.timeoutMs);
  }
}
