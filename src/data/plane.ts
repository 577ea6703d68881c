// The data plane's composition for the gateway: the dataset registry over the embedded store, its admin
// routes, and its ledger sink. (Sensitivity routing and envelope encryption live beside it in src/data.)
import type { AuditSink } from '../core/audit-sink.js';
import type { Clock } from '../core/clock.js';
import { SqliteDatasetsStore } from '../store/datasets-sqlite.js';
import type { SqliteDb } from '../store/sqlite.js';
import { createDatasetAdminRoute } from './datasets/admin-routes.js';
import { DatasetRegistry, type DecideTrainOn } from './datasets/registry.js';
import { explainTrainingData, trainingDataGate } from './datasets/gate.js';
import type { DatasetRef } from '../workload/provenance/slsa.js';

export function buildDataPlane(d: { db: SqliteDb; audit: AuditSink; clock: Clock; decideTrainOn: (sourceIp: string) => DecideTrainOn }) {
  const registry = new DatasetRegistry({
    store: new SqliteDatasetsStore(d.db),
    audit: async (e) => {
      await d.audit.append(e);
    },
    clock: d.clock,
  });
  return {
    registry,
    adminRoute: createDatasetAdminRoute({ registry, decideTrainOn: d.decideTrainOn }),
    trainingDataGate: trainingDataGate(registry),
    explainTrainingData: (model: string, datasets: readonly DatasetRef[]) => explainTrainingData(registry, model, datasets),
  };
}
