// The data plane's composition for the gateway: the dataset registry over the embedded store, its admin
// routes, and its ledger sink. (Sensitivity routing and envelope encryption live beside it in src/data.)
import type { AuditSink } from '../core/audit-sink.js';
import type { Clock } from '../core/clock.js';
import { SqliteDatasetsStore } from '../store/datasets-sqlite.js';
import type { SqliteDb } from '../store/sqlite.js';
import type { DatasetsStore } from '../store/datasets-store.js';
import { createDatasetAdminRoute } from './datasets/admin-routes.js';
import { DatasetRegistry, type DecideTrainOn } from './datasets/registry.js';
import { explainTrainingData, trainingDataGate, type GatedModel } from './datasets/gate.js';
import type { DatasetRef } from '../workload/provenance/slsa.js';
import type { AuditEvent } from '../core/types.js';
import { TrainingDataAccess, type MintTrainingToken } from './datasets/training-access.js';
import { LineagePusher, type LineagePushConfig } from './lineage/push.js';
import type { PlacementConfig } from './placement.js';
import type { ClassificationScheme } from '../inspect/classification.js';

export function buildDataPlane(d: {
  db: SqliteDb;
  /** Replicas sharing one control plane: the PostgreSQL dataset store (absent: SQLite in the data dir). */
  store?: DatasetsStore;
  /** The placement table: a class's retention bounds what a dataset of that class may declare. */
  placement?: PlacementConfig;
  /** The configured classification levels (absent: the four built-in ones). */
  classification?: ClassificationScheme;
  audit: AuditSink;
  clock: Clock;
  /** trainOn asked on the admin listener (approval, token issue) and on the inference listener (each data read). */
  decideTrainOn: (sourceIp: string) => DecideTrainOn;
  decideRead: (sourceIp: string) => DecideTrainOn;
  /** evaluateOn (may this model be evaluated on this dataset?), asked on the admin listener like trainOn. */
  decideEvaluateOn: (sourceIp: string) => DecideTrainOn;
  mintTrainingToken: MintTrainingToken;
  revokeTrainingToken: (jti: string, expiresAt: number) => Promise<void>;
  /** The OpenLineage export (config `data.lineage`); absent: lineage stays in the ledger and the registry. */
  lineagePush?: Omit<LineagePushConfig, 'sweepIntervalMs'>;
  /** How often expired training runs are ended and failed pushes retried. */
  sweepIntervalMs: number;
  onError?: (e: Error) => void;
}) {
  const audit = async (e: AuditEvent) => {
    await d.audit.append(e);
  };
  const store = d.store ?? new SqliteDatasetsStore(d.db);
  const pusher = d.lineagePush ? new LineagePusher({ config: { ...d.lineagePush, sweepIntervalMs: d.sweepIntervalMs }, outbox: store, audit, clock: d.clock, ...(d.onError ? { onError: d.onError } : {}) }) : null;
  const classes = d.placement?.classes as Record<string, { retention?: string } | undefined> | undefined;
  const registry = new DatasetRegistry({
    store, audit, clock: d.clock,
    ...(pusher ? { onLineage: (digest, event) => pusher.enqueue(digest, event) } : {}),
    ...(classes ? { classRetention: (c: string) => classes[c]?.retention } : {}),
    ...(d.classification ? { classification: d.classification } : {}),
  });
  const training = new TrainingDataAccess({
    registry, runs: store, audit, clock: d.clock, mint: d.mintTrainingToken, revoke: d.revokeTrainingToken, decideRead: d.decideRead, ...(d.onError ? { onError: d.onError } : {}),
  });
  training.start(d.sweepIntervalMs);
  pusher?.start();
  return {
    registry,
    /** GET /v1/datasets/{id}/records on the inference listener (the gateway authenticates; this authorizes and records). */
    readRecords: (call: Parameters<TrainingDataAccess['read']>[0]) => training.read(call),
    adminRoute: createDatasetAdminRoute({ registry, decideTrainOn: d.decideTrainOn, decideEvaluateOn: d.decideEvaluateOn, training }),
    trainingDataGate: trainingDataGate(registry),
    explainTrainingData: (dep: GatedModel, datasets: readonly DatasetRef[]) => explainTrainingData(registry, dep, datasets),
    training,
    pusher,
    close: async () => {
      await training.close();
      await pusher?.close();
    },
  };
}
