// OpenTelemetry GenAI semantic conventions (https://opentelemetry.io/docs/specs/semconv/gen-ai/): the names
// Warden's traces and metrics use, in one place for the tracer, the Prometheus registry and the OTLP push.
/** GenAI operation names (gen_ai.operation.name) of the inference endpoints. */
export const GEN_AI_OPERATION: Readonly<Record<string, string>> = { chat: 'chat', completions: 'text_completion', embeddings: 'embeddings' };

/** Semantic-convention names of the metrics and labels Prometheus cannot spell (no dots, unit suffixes). */
export const OTEL_NAMES: Readonly<Record<string, string>> = {
  gen_ai_client_token_usage: 'gen_ai.client.token.usage',
  gen_ai_server_request_duration_seconds: 'gen_ai.server.request.duration',
  gen_ai_operation_name: 'gen_ai.operation.name',
  gen_ai_request_model: 'gen_ai.request.model',
  gen_ai_token_type: 'gen_ai.token.type',
  error_type: 'error.type',
};
