// Whose data an admin may see. The bootstrap admin and the platform's own administrators live in the `system`
// tenant and see every tenant; any other admin (a tenant admin, or a platform role granted in a customer tenant)
// is scoped to its own tenant by every admin route that reads or changes tenant data, whatever policy grants it.
import { Forbidden } from './errors.js';
import type { Principal } from './types.js';

export const PLATFORM_TENANT = 'system';

/** The tenant an admin's lookups are limited to, or null for the platform (every tenant). */
export function adminTenantScope(p: Pick<Principal, 'tenant'>): string | null {
  return p.tenant === PLATFORM_TENANT ? null : p.tenant;
}

/** The refusal of a tenant named in a request that the admin may not act for (403 cross_tenant_denied), or null. */
export function crossTenantRefusal(p: Pick<Principal, 'tenant'>, tenant: string): Forbidden | null {
  const scope = adminTenantScope(p);
  return scope !== null && scope !== tenant ? new Forbidden('cross_tenant_denied', `an admin of tenant ${scope} cannot act for tenant ${tenant}`) : null;
}
