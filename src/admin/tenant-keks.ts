// /admin/v1/tenant-keks: the tenants that brought their own KEK, the key id recorded for each and whether it is
// withdrawn (GET, audit material); POST /admin/v1/tenant-keks/{tenant}/withdraw {reason?} makes the tenant's data
// unreadable, and nothing new of it sealed, on every replica; .../restore reinstates it. Both are key-management
// actions (manageKeys on System::"tenant-keks"), recorded in the ledger before they take effect.
// POST .../forget deletes the record of a withdrawn tenant once nothing of it is wrapped under its keys any more
// (same action; refusals recorded too). `warden data kek list|withdraw|restore|forget` calls these
// (docs/data-encryption.md).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadRequest, WardenError } from '../core/errors.js';
import { TenantKekForgetRefused, type TenantHoldings, type TenantKeks } from '../data/crypto/tenant-keks.js';
import { sendJson } from '../http/respond.js';
import type { TenantKekRecord } from '../store/tenant-keks-store.js';
import type { AdminRequest } from './admin.js';

const ACT = /^\/admin\/v1\/tenant-keks\/([^/]+)\/(withdraw|restore|forget)$/;

const view = (r: TenantKekRecord) => ({
  tenant: r.tenant,
  kek_id: r.kekId,
  recorded_at: new Date(r.recordedAt).toISOString(),
  withdrawn: r.withdrawn ? { at: new Date(r.withdrawn.at).toISOString(), by: r.withdrawn.by, reason: r.withdrawn.reason } : null,
});

export function createTenantKeksRoute(keks: TenantKeks, holdings: TenantHoldings) {
  return async (req: IncomingMessage, res: ServerResponse, ar: AdminRequest): Promise<boolean> => {
    if (ar.path === '/admin/v1/tenant-keks' && req.method === 'GET') {
      sendJson(res, 200, { data: (await keks.list()).map(view) }, { 'x-request-id': ar.requestId });
      return true;
    }
    const m = ACT.exec(ar.path);
    if (!m || req.method !== 'POST') return false;
    const tenant = decodeURIComponent(m[1]!);
    const b = await ar.body();
    for (const k of Object.keys(b)) if (k !== 'reason') throw new BadRequest('invalid_field', `unknown field ${k}`, k);
    if (b.reason !== undefined && (typeof b.reason !== 'string' || b.reason.length > 500)) throw new BadRequest('invalid_field', 'reason must be a string of at most 500 characters', 'reason');
    const reason = (b.reason as string | undefined) ?? null;
    if (m[2] === 'forget') {
      const resource = { type: 'System' as const, id: `tenant-kek:${tenant}` };
      const refuse = async (e: unknown): Promise<never> => {
        if (e instanceof WardenError) await ar.record('tenant_kek.forget', resource, { tenant, reason }, e);
        throw e;
      };
      const checked = await keks.checkForget(tenant, holdings).catch(refuse);
      const w = checked.record.withdrawn!;
      await ar.record('tenant_kek.forget', resource, { tenant, reason, kekId: checked.record.kekId, withdrawnBy: w.by, withdrawnAt: new Date(w.at).toISOString(), ...checked.holdings });
      if (!(await keks.forget(tenant))) await refuse(new TenantKekForgetRefused('tenant_kek_in_use', `tenant ${tenant}'s KEK record changed meanwhile (reinstated or forgotten by another admin)`));
      sendJson(res, 200, { ...view(checked.record), forgotten: true }, { 'x-request-id': ar.requestId });
      return true;
    }
    const withdraw = m[2] === 'withdraw';
    await ar.record(withdraw ? 'tenant_kek.withdraw' : 'tenant_kek.restore', { type: 'System', id: `tenant-kek:${tenant}` }, { tenant, reason });
    const r = await keks.set(tenant, withdraw ? { by: ar.principal.id, reason } : null);
    sendJson(res, 200, view(r), { 'x-request-id': ar.requestId });
    return true;
  };
}
