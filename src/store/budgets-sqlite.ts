// Budget counters and the overrides set through the admin API, for the in-process budget store (embedded
// default): counters are written behind (once a second) and read back at start, overrides written through.
import type { BudgetLimit, BudgetPersistence, Charge } from '../network/budgets.js';
import type { SqliteDb } from './sqlite.js';

export class SqliteBudgetPersistence implements BudgetPersistence {
  private readonly q;
  constructor(private readonly db: SqliteDb) {
    db.exec(`CREATE TABLE IF NOT EXISTS budget_counters (counter TEXT PRIMARY KEY, tokens INTEGER NOT NULL, micros INTEGER NOT NULL, expires_at INTEGER);
      CREATE TABLE IF NOT EXISTS budget_overrides (scope TEXT NOT NULL, id TEXT NOT NULL, win TEXT NOT NULL, tokens INTEGER, cost REAL, PRIMARY KEY (scope, id, win))`);
    this.q = {
      counters: db.prepare('SELECT counter, tokens, micros, expires_at FROM budget_counters'),
      overrides: db.prepare('SELECT scope, id, win, tokens, cost FROM budget_overrides'),
      putCounter: db.prepare('INSERT INTO budget_counters (counter, tokens, micros, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT(counter) DO UPDATE SET tokens = excluded.tokens, micros = excluded.micros, expires_at = excluded.expires_at'),
      putOverride: db.prepare('INSERT INTO budget_overrides (scope, id, win, tokens, cost) VALUES (?, ?, ?, ?, ?) ON CONFLICT(scope, id, win) DO UPDATE SET tokens = excluded.tokens, cost = excluded.cost'),
      prune: db.prepare('DELETE FROM budget_counters WHERE expires_at IS NOT NULL AND expires_at < ?'),
    };
  }

  load(): ReturnType<BudgetPersistence['load']> {
    const counters = (this.q.counters.all() as { counter: string; tokens: number; micros: number; expires_at: number | null }[]).map((r): [string, Charge, number | null] => [r.counter, { tokens: r.tokens, micros: r.micros }, r.expires_at]);
    const overrides = (this.q.overrides.all() as { scope: BudgetLimit['scope']; id: string; win: BudgetLimit['window']; tokens: number | null; cost: number | null }[]).map((r) => ({ scope: r.scope, id: r.id, window: r.win, tokens: r.tokens, cost: r.cost }));
    return { counters, overrides };
  }

  saveCounters(rows: [string, Charge, number | null][]): void {
    this.db.transaction(() => {
      for (const [k, c, exp] of rows) this.q.putCounter.run(k, c.tokens, c.micros, exp);
    })();
  }

  saveOverride(l: BudgetLimit): void {
    this.q.putOverride.run(l.scope, l.id, l.window, l.tokens, l.cost);
  }

  prune(before: number): void {
    this.q.prune.run(before);
  }
}
