// Prometheus metrics (prom-client), one registry per Warden process, served on the admin listener.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'warden_requests_total', help: 'Inference requests by endpoint and status', labelNames: ['endpoint', 'status'] as const, registers: [this.registry] });
  readonly decisions = new Counter({ name: 'warden_decisions_total', help: 'Pipeline outcomes by decision and stage', labelNames: ['decision', 'stage'] as const, registers: [this.registry] });
  readonly latency = new Histogram({
    name: 'warden_request_duration_seconds',
    help: 'Time from request arrival to response end',
    labelNames: ['endpoint'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  /** Requests allowed with a `flag:<label>` obligation (marked for review), by label. */
  readonly flagged = new Counter({ name: 'warden_flagged_requests_total', help: 'Requests allowed but flagged for review by a flag:<label> obligation, by label', labelNames: ['flag'] as const, registers: [this.registry] });
  readonly upstreamErrors = new Counter({ name: 'warden_upstream_errors_total', help: 'Upstream failures by upstream and code', labelNames: ['upstream', 'code'] as const, registers: [this.registry] });
  readonly auditFailures = new Counter({ name: 'warden_audit_failures_total', help: 'Audit appends that failed', registers: [this.registry] });
  /** Set whenever a budget is reserved on, settled or shown (docs/budgets.md); unit `tokens` or `cost`. */
  readonly budgetRemaining = new Gauge({ name: 'warden_budget_remaining', help: 'Remaining budget (reservations in flight counted as spent) by scope, id, window and unit', labelNames: ['scope', 'id', 'window', 'unit'] as const, registers: [this.registry] });
  /** Witness submissions (docs/ledger.md "Witnesses"): a witness that stopped cosigning shows here, not in /readyz. */
  readonly witnessSubmissions = new Counter({ name: 'warden_witness_submissions_total', help: 'Checkpoint submissions to each witness by result (cosigned or failed)', labelNames: ['witness', 'result'] as const, registers: [this.registry] });
  readonly witnessLastCosigned = new Gauge({ name: 'warden_witness_last_cosigned_timestamp_seconds', help: 'When each witness last cosigned a checkpoint (Unix seconds)', labelNames: ['witness'] as const, registers: [this.registry] });

  /** SIEM export (ledger.export): entries committed but not yet delivered to each destination, and failed rounds. */
  readonly siemExportLag = new Gauge({ name: 'warden_siem_export_lag_entries', help: 'Ledger entries not yet delivered to each SIEM destination', labelNames: ['destination'] as const, registers: [this.registry] });
  readonly siemExportFailures = new Counter({ name: 'warden_siem_export_failures_total', help: 'SIEM export rounds that failed, by destination (they are retried from the last delivered entry)', labelNames: ['destination'] as const, registers: [this.registry] });

  /** The continuous red team (docs/monitor.md "Red team"): attack success per model and kind in the latest run. */
  readonly redteamSuccess = new Gauge({ name: 'warden_redteam_attack_success_ratio', help: 'Share of red-team attacks that worked in the latest run, by model and attack kind (errors left out)', labelNames: ['model', 'kind'] as const, registers: [this.registry] });
  readonly redteamAttacks = new Counter({ name: 'warden_redteam_attacks_total', help: 'Red-team attacks sent, by model, attack kind and outcome (blocked, resisted, succeeded, error)', labelNames: ['model', 'kind', 'outcome'] as const, registers: [this.registry] });
  readonly redteamLastRun = new Gauge({ name: 'warden_redteam_last_run_timestamp_seconds', help: 'When the latest red-team run finished (Unix seconds)', registers: [this.registry] });

  /**
   * OpenTelemetry GenAI semantic-convention metrics (Prometheus spellings; the OTLP push restores the dotted
   * names, see OTEL_NAMES in src/telemetry/genai.ts): tokens the upstream reported per call by type, and the duration of each GenAI
   * request Warden served. Buckets are the ones the conventions advise.
   */
  readonly genAiTokenUsage = new Histogram({
    name: 'gen_ai_client_token_usage',
    help: 'Tokens used per upstream GenAI call, by operation, requested model and token type (gen_ai.client.token.usage)',
    labelNames: ['gen_ai_operation_name', 'gen_ai_request_model', 'gen_ai_token_type'] as const,
    buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
    registers: [this.registry],
  });
  readonly genAiRequestDuration = new Histogram({
    name: 'gen_ai_server_request_duration_seconds',
    help: 'Duration of each GenAI request Warden served, to its last byte (gen_ai.server.request.duration)',
    labelNames: ['gen_ai_operation_name', 'gen_ai_request_model', 'error_type'] as const,
    buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
    registers: [this.registry],
  });

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'warden_' });
  }
}

