// What of a tenant is still wrapped under its keys: the check before its KEK record is forgotten
// (`warden data kek forget`). Payload data keys and model keys name their tenant in their wrapping; retrieval
// chunks, uploads and per-subject keys carry their tenant. Old-format records (before the envelope) name none and are not under a tenant KEK.
import type { ModelKeyStore } from '../../store/sealed-store.js';
import { isLegacyModelKey } from '../../workload/key-release-envelope.js';
import { parseWrappedKey } from './keyring.js';
import type { TenantHoldings } from './tenant-keks.js';

export function tenantHoldings(o: { payloadKeys(): Promise<{ principal: string; wrapped: Buffer }[]>; models: ModelKeyStore; retrieval(tenant: string): Promise<{ chunks: number; uploads: number }>; subjectKeys?(tenant: string): Promise<number> }): TenantHoldings {
  return async (tenant) => {
    const r = await o.retrieval(tenant);
    return {
      payloadKeys: (await o.payloadKeys()).filter((k) => parseWrappedKey(k.wrapped)?.tenant === tenant).length,
      modelKeys: (await o.models.list()).filter((k) => !isLegacyModelKey(k.wrapped) && k.wrapped.tenant === tenant).length,
      retrievalChunks: r.chunks,
      retrievalUploads: r.uploads,
      // Per-subject keys are wrapped by the tenant's KEK too (their tombstones wrap nothing).
      subjectKeys: (await o.subjectKeys?.(tenant)) ?? 0,
    };
  };
}
