// Where an export destination stopped: the index of the first ledger entry not yet delivered there, kept in
// the store's metadata (a SQLite or PostgreSQL commit), so a restart resumes there.
export interface MetaStore {
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
}

export class ExportCursor {
  constructor(
    private readonly store: MetaStore,
    private readonly key: string,
  ) {}

  /** 0 when the destination never exported (a fresh cursor starts at the beginning of the log). */
  async load(): Promise<number> {
    const text = await this.store.getMeta(this.key);
    if (text === null) return 0;
    const v = Number(text);
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`store metadata ${this.key} is not an export cursor: ${JSON.stringify(text)}`);
    return v;
  }

  save(next: number): Promise<void> {
    return this.store.setMeta(this.key, String(next));
  }
}
