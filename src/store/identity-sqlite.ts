import type { SqliteDb } from './sqlite.js';
import type { ApiKeyRecord, IdentityStore, PrincipalRecord } from './identity-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS principals (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, tenant TEXT NOT NULL, groups TEXT NOT NULL, admin INTEGER NOT NULL,
  source_cidrs TEXT, limits TEXT, created_at INTEGER NOT NULL, erased_at INTEGER
);
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY, principal_id TEXT NOT NULL REFERENCES principals(id), hash TEXT NOT NULL UNIQUE, hint TEXT NOT NULL,
  models TEXT NOT NULL, actions TEXT NOT NULL, description TEXT, created_at INTEGER NOT NULL, expires_at INTEGER,
  revoked_at INTEGER, rotated_to TEXT, last_used_at INTEGER
);
CREATE INDEX IF NOT EXISTS api_keys_principal ON api_keys(principal_id);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

type Row = Record<string, unknown>;

function toPrincipal(r: Row): PrincipalRecord {
  return {
    id: r.id as string,
    kind: r.kind as PrincipalRecord['kind'],
    tenant: r.tenant as string,
    groups: JSON.parse(r.groups as string) as string[],
    admin: r.admin === 1,
    sourceCidrs: r.source_cidrs ? (JSON.parse(r.source_cidrs as string) as string[]) : null,
    limits: r.limits ? (JSON.parse(r.limits as string) as PrincipalRecord['limits']) : null,
    createdAt: r.created_at as number,
    erasedAt: (r.erased_at as number | null) ?? null,
    disabledAt: (r.disabled_at as number | null) ?? null,
    oidcIssuer: (r.oidc_issuer as string | null) ?? null,
  };
}

function toKey(r: Row): ApiKeyRecord {
  return {
    id: r.id as string,
    principalId: r.principal_id as string,
    hash: r.hash as string,
    hint: r.hint as string,
    models: JSON.parse(r.models as string) as string[],
    actions: JSON.parse(r.actions as string) as string[],
    description: (r.description as string | null) ?? null,
    createdAt: r.created_at as number,
    expiresAt: (r.expires_at as number | null) ?? null,
    revokedAt: (r.revoked_at as number | null) ?? null,
    rotatedTo: (r.rotated_to as string | null) ?? null,
    lastUsedAt: (r.last_used_at as number | null) ?? null,
  };
}

export class SqliteIdentityStore implements IdentityStore {
  private readonly q;

  constructor(private readonly db: SqliteDb) {
    db.exec(SCHEMA);
    // Added after the first release: a data dir created before it gets the column on open.
    const cols = (db.prepare('PRAGMA table_info(principals)').all() as { name: string }[]).map((c) => c.name);
    if (!cols.includes('disabled_at')) db.exec('ALTER TABLE principals ADD COLUMN disabled_at INTEGER');
    if (!cols.includes('oidc_issuer')) db.exec('ALTER TABLE principals ADD COLUMN oidc_issuer TEXT');
    this.q = {
      getPrincipal: db.prepare('SELECT * FROM principals WHERE id = ?'),
      listPrincipals: db.prepare('SELECT * FROM principals ORDER BY created_at'),
      insertPrincipal: db.prepare(
        'INSERT INTO principals (id, kind, tenant, groups, admin, source_cidrs, limits, created_at, erased_at, disabled_at, oidc_issuer) VALUES (@id, @kind, @tenant, @groups, @admin, @source_cidrs, @limits, @created_at, @erased_at, @disabled_at, @oidc_issuer)',
      ),
      updatePrincipal: db.prepare(
        'UPDATE principals SET kind=@kind, tenant=@tenant, groups=@groups, admin=@admin, source_cidrs=@source_cidrs, limits=@limits, erased_at=@erased_at, disabled_at=@disabled_at, oidc_issuer=@oidc_issuer WHERE id=@id',
      ),
      keyByHash: db.prepare('SELECT * FROM api_keys WHERE hash = ?'),
      keyById: db.prepare('SELECT * FROM api_keys WHERE id = ?'),
      listKeys: db.prepare('SELECT * FROM api_keys ORDER BY created_at'),
      listKeysOf: db.prepare('SELECT * FROM api_keys WHERE principal_id = ? ORDER BY created_at'),
      insertKey: db.prepare(
        'INSERT INTO api_keys (id, principal_id, hash, hint, models, actions, description, created_at, expires_at, revoked_at, rotated_to, last_used_at) VALUES (@id, @principal_id, @hash, @hint, @models, @actions, @description, @created_at, @expires_at, @revoked_at, @rotated_to, @last_used_at)',
      ),
      updateKeyState: db.prepare('UPDATE api_keys SET expires_at=@expires_at, revoked_at=@revoked_at, rotated_to=@rotated_to WHERE id=@id'),
      touch: db.prepare('UPDATE api_keys SET last_used_at = MAX(COALESCE(last_used_at, 0), @t) WHERE id = @id'),
      getMeta: db.prepare('SELECT value FROM meta WHERE name = ?'),
      setMeta: db.prepare('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value'),
    };
  }

  private principalParams(p: PrincipalRecord): Row {
    return {
      id: p.id,
      kind: p.kind,
      tenant: p.tenant,
      groups: JSON.stringify(p.groups),
      admin: p.admin ? 1 : 0,
      source_cidrs: p.sourceCidrs ? JSON.stringify(p.sourceCidrs) : null,
      limits: p.limits ? JSON.stringify(p.limits) : null,
      created_at: p.createdAt,
      erased_at: p.erasedAt,
      disabled_at: p.disabledAt ?? null,
      oidc_issuer: p.oidcIssuer ?? null,
    };
  }

  async getPrincipal(id: string): Promise<PrincipalRecord | null> {
    const r = this.q.getPrincipal.get(id) as Row | undefined;
    return r ? toPrincipal(r) : null;
  }
  async listPrincipals(): Promise<PrincipalRecord[]> {
    return (this.q.listPrincipals.all() as Row[]).map(toPrincipal);
  }
  async insertPrincipal(p: PrincipalRecord): Promise<void> {
    this.q.insertPrincipal.run(this.principalParams(p));
  }
  async updatePrincipal(p: PrincipalRecord): Promise<void> {
    this.q.updatePrincipal.run(this.principalParams(p));
  }
  async findKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    const r = this.q.keyByHash.get(hash) as Row | undefined;
    return r ? toKey(r) : null;
  }
  async getKey(id: string): Promise<ApiKeyRecord | null> {
    const r = this.q.keyById.get(id) as Row | undefined;
    return r ? toKey(r) : null;
  }
  async listKeys(principalId?: string): Promise<ApiKeyRecord[]> {
    const rows = (principalId ? this.q.listKeysOf.all(principalId) : this.q.listKeys.all()) as Row[];
    return rows.map(toKey);
  }
  async insertKey(k: ApiKeyRecord): Promise<void> {
    this.q.insertKey.run({
      id: k.id,
      principal_id: k.principalId,
      hash: k.hash,
      hint: k.hint,
      models: JSON.stringify(k.models),
      actions: JSON.stringify(k.actions),
      description: k.description,
      created_at: k.createdAt,
      expires_at: k.expiresAt,
      revoked_at: k.revokedAt,
      rotated_to: k.rotatedTo,
      last_used_at: k.lastUsedAt,
    });
  }
  async updateKeyState(id: string, s: Pick<ApiKeyRecord, 'expiresAt' | 'revokedAt' | 'rotatedTo'>): Promise<void> {
    this.q.updateKeyState.run({ id, expires_at: s.expiresAt, revoked_at: s.revokedAt, rotated_to: s.rotatedTo });
  }
  async touchKeys(lastUsed: Map<string, number>): Promise<void> {
    const tx = this.db.transaction((m: Map<string, number>) => {
      for (const [id, t] of m) this.q.touch.run({ id, t });
    });
    tx(lastUsed);
  }
  async getMeta(name: string): Promise<string | null> {
    const r = this.q.getMeta.get(name) as { value: string } | undefined;
    return r ? r.value : null;
  }
  async setMeta(name: string, value: string): Promise<void> {
    this.q.setMeta.run(name, value);
  }
  /** One process owns the SQLite file: there is no other replica to exclude. */
  exclusive<T>(_name: string, fn: () => Promise<T>): Promise<T> {
    return fn();
  }
}
