// JSON Schema of warden.yaml. The config loader validates against it and reports file:line:col, path and expectation.
// Every object is closed (additionalProperties: false, or a schema for the values of a map): a misspelt key is an
// error at start, never a setting silently ignored (test/config/schema-closed.test.ts walks the whole schema).
import { thresholdsSchema } from '../data/screen/thresholds.js';
import { BUILT_IN_LEVELS, LEVEL_NAME } from '../inspect/classification.js';

export const CONFIG_SCHEMA = {
  $id: 'https://warden.local/schema/config.json',
  type: 'object',
  additionalProperties: false,
  properties: {
    dataDir: { type: 'string', minLength: 1 },
    listeners: {
      type: 'object',
      additionalProperties: false,
      properties: {
        inference: { $ref: '#/$defs/listener' },
        admin: { $ref: '#/$defs/listener' },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxBodyBytes: { type: 'integer', minimum: 1024, maximum: 104857600 },
        requestsPerSecond: { type: 'number', exclusiveMinimum: 0 },
        burst: { type: 'integer', minimum: 1 },
        concurrency: { type: 'integer', minimum: 1 },
        tokensPerMinute: { type: 'integer', minimum: 1 },
        attestationPerSource: {
          type: 'object',
          additionalProperties: false,
          properties: { requestsPerSecond: { type: 'number', exclusiveMinimum: 0 }, burst: { type: 'integer', minimum: 1 } },
        },
        attestationUsedNonces: { type: 'integer', minimum: 1 },
        unauthenticated: {
          type: 'object',
          additionalProperties: false,
          properties: { requestsPerSecond: { type: 'number', exclusiveMinimum: 0 }, burst: { type: 'integer', minimum: 1 }, accountingWindowMs: { type: 'integer', minimum: 100, maximum: 3600000 } },
        },
        headersTimeoutMs: { type: 'integer', minimum: 100, maximum: 600000 },
        requestTimeoutMs: { type: 'integer', minimum: 100, maximum: 3600000 },
        upstreamShare: {
          type: 'object',
          additionalProperties: false,
          properties: { perPrincipal: { type: 'number', exclusiveMinimum: 0, maximum: 1 }, reserve: { type: 'number', minimum: 0, exclusiveMaximum: 1 } },
        },
      },
    },
    upstreams: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        // baseUrl, or endpoints (several, balanced and failed over): exactly one, checked in config.ts.
        required: ['name', 'models'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
          baseUrl: { type: 'string', pattern: '^https?://[^\\s]+$' },
          endpoints: {
            type: 'array',
            minItems: 1,
            maxItems: 64,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['url'],
              properties: { url: { type: 'string', pattern: '^https?://[^\\s]+$' }, weight: { type: 'integer', minimum: 1, maximum: 1000 } },
            },
          },
          retries: { type: 'integer', minimum: 0, maximum: 63 },
          healthCheck: {
            type: 'object',
            additionalProperties: false,
            properties: {
              path: { type: 'string', pattern: '^/[A-Za-z0-9._~/-]*$' },
              intervalMs: { type: 'integer', minimum: 100, maximum: 3600000 },
              timeoutMs: { type: 'integer', minimum: 1, maximum: 60000 },
              unhealthyAfter: { type: 'integer', minimum: 1, maximum: 100 },
              healthyAfter: { type: 'integer', minimum: 1, maximum: 100 },
            },
          },
          outlierEjection: {
            type: 'object',
            additionalProperties: false,
            properties: { consecutiveFailures: { type: 'integer', minimum: 1, maximum: 1000 }, ejectMs: { type: 'integer', minimum: 100, maximum: 3600000 } },
          },
          streamStallMs: { type: 'integer', minimum: 100, maximum: 3600000 },
          apiKeyEnv: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' },
          apiKeySource: {
            oneOf: [
              { type: 'object', additionalProperties: false, required: ['file'], properties: { file: { type: 'string', minLength: 1 }, refreshMs: { type: 'integer', minimum: 1000 } } },
              { type: 'object', additionalProperties: false, required: ['command'], properties: { command: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } }, refreshMs: { type: 'integer', minimum: 1000 } } },
            ],
          },
          models: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          connections: { type: 'integer', minimum: 1, maximum: 4096 },
          connectTimeoutMs: { type: 'integer', minimum: 1 },
          headersTimeoutMs: { type: 'integer', minimum: 1 },
          bodyTimeoutMs: { type: 'integer', minimum: 1 },
          caFile: { type: 'string' },
          clientTls: { $ref: '#/$defs/certPair' },
          tier: { type: 'string', minLength: 1 },
          region: { type: 'string', minLength: 1 },
          outputRules: { type: 'array', items: { enum: ['no_sql', 'no_shell'] } },
          canary: { type: 'boolean' },
        },
      },
    },
    models: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          grantees: { type: 'array', items: { type: 'string', minLength: 1 } },
          tenant: { type: 'string', minLength: 1 },
          provider: { type: 'string', minLength: 1 },
        },
      },
    },
    monitor: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        windowMs: { type: 'integer', minimum: 1000 },
        injectionThreshold: { type: 'number', minimum: 0, maximum: 1 },
        burstPerWindow: { type: 'integer', minimum: 1 },
        throttleAt: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
        throttleRequestsPerSecond: { type: 'number', exclusiveMinimum: 0 },
        revokeAt: { anyOf: [{ type: 'number', exclusiveMinimum: 0, maximum: 1 }, { type: 'null' }] },
        drift: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean' },
            baselineAnswers: { type: 'integer', minimum: 10 },
            windowAnswers: { type: 'integer', minimum: 5 },
            threshold: { type: 'number', exclusiveMinimum: 0 },
            action: { enum: ['alert', 'quarantine'] },
            inputs: { type: 'boolean' },
            approval: { enum: ['operator', 'auto'] },
            syncMs: { type: 'integer', minimum: 100 },
          },
        },
        extraction: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean' },
            windowMs: { type: 'integer', minimum: 10_000 },
            minRequests: { type: 'integer', minimum: 1 },
            samples: { type: 'integer', minimum: 1 },
            embeddingInputs: { type: 'integer', minimum: 1 },
            threshold: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
            riskWeight: { type: 'number', minimum: 0, maximum: 1 },
          },
        },
        baselines: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean' },
            minObservations: { type: 'integer', minimum: 1 },
            holdMs: { type: 'integer', minimum: 1000 },
            halfLife: { type: 'integer', minimum: 10 },
            reportAt: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
            syncMs: { type: 'integer', minimum: 100, maximum: 600_000 },
            peerWeight: { type: 'number', minimum: 0, maximum: 1 },
          },
        },
        inventory: {
          type: 'object',
          additionalProperties: false,
          properties: { unusedAfterDays: { type: 'integer', minimum: 1 }, rotateAfterDays: { type: 'integer', minimum: 1 } },
        },
        rotation: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean' },
            intervalMs: { type: 'integer', minimum: 1000 },
            rotateAfterDays: { type: 'integer', minimum: 1 },
            overlapDays: { type: 'integer', minimum: 0 },
            remindDaysBefore: { type: 'integer', minimum: 0 },
            disableUnusedAfterDays: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }] },
            deliverDir: { type: 'string', minLength: 1 },
            webhook: {
              anyOf: [
                {
                  type: 'object',
                  additionalProperties: false,
                  required: ['url', 'signingSecretEnv'],
                  properties: {
                    url: { type: 'string', pattern: '^https://' },
                    signingSecretEnv: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' },
                    attempts: { type: 'integer', minimum: 1, maximum: 10 },
                    backoffMs: { type: 'integer', minimum: 0, maximum: 600000 },
                    timeoutMs: { type: 'integer', minimum: 100, maximum: 60000 },
                    caFile: { type: 'string', minLength: 1 },
                  },
                },
                { type: 'null' },
              ],
            },
            toolCredentialKeys: {
              type: 'object',
              additionalProperties: false,
              properties: {
                enabled: { type: 'boolean' },
                rotateAfterDays: { type: 'integer', minimum: 1 },
                overlapMinutes: { type: 'integer', minimum: 5 },
                publishAheadMinutes: { type: 'integer', minimum: 5 },
              },
            },
          },
        },
        redteam: {
          type: 'object',
          additionalProperties: false,
          properties: {
            principal: { anyOf: [{ type: 'string', minLength: 1, maxLength: 128 }, { type: 'null' }] },
            everyMs: { anyOf: [{ const: 0 }, { type: 'integer', minimum: 60_000 }] },
            models: { type: 'array', items: { type: 'string', minLength: 1 } },
            kinds: { type: 'array', items: { enum: ['direct_injection', 'indirect_injection', 'jailbreak', 'system_prompt_leak', 'data_leak', 'tool_abuse'] } },
            concurrency: { type: 'integer', minimum: 1, maximum: 32 },
            dir: { type: 'string', minLength: 1 },
          },
        },
        playbooks: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'when', 'steps'],
            properties: {
              name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
              dryRun: { type: 'boolean' },
              when: {
                type: 'object',
                additionalProperties: false,
                minProperties: 1,
                properties: {
                  risk: { type: 'number', minimum: 0, maximum: 1 },
                  extraction: { type: 'number', minimum: 0, maximum: 1 },
                  signals: {
                    type: 'object',
                    additionalProperties: false,
                    minProperties: 1,
                    properties: Object.fromEntries(['denials', 'injections', 'secrets', 'requests'].map((k) => [k, { type: 'integer', minimum: 1 }])),
                  },
                  drift: { anyOf: [{ const: true }, { type: 'object', additionalProperties: false, required: ['features'], properties: { features: { type: 'array', minItems: 1, items: { enum: ['length', 'language', 'sql', 'shell', 'code', 'url', 'refusal', 'toolCall', 'finding'] } } } }] },
                  attestation: { const: true },
                },
              },
              steps: {
                type: 'array',
                minItems: 1,
                items: {
                  oneOf: [
                    { type: 'object', additionalProperties: false, required: ['do'], properties: { do: { enum: ['suspendCredential', 'revokeCredential', 'revokeTokens', 'quarantineDeployment'] } } },
                    { type: 'object', additionalProperties: false, required: ['do'], properties: { do: { const: 'stepUp' }, maxAgeSec: { type: 'integer', minimum: 1 } } },
                    { type: 'object', additionalProperties: false, required: ['do', 'requestsPerSecond'], properties: { do: { const: 'throttle' }, requestsPerSecond: { type: 'number', exclusiveMinimum: 0 } } },
                    { type: 'object', additionalProperties: false, required: ['do'], properties: { do: { const: 'quarantineTool' }, tool: { type: 'string', pattern: '^[a-zA-Z][a-zA-Z0-9_-]{0,63}$' } } },
                    { type: 'object', additionalProperties: false, required: ['do', 'url'], properties: { do: { const: 'webhook' }, url: { type: 'string', pattern: '^https?://' } } },
                  ],
                },
              },
            },
          },
        },
      },
    },
    encryption: {
      type: 'object',
      additionalProperties: false,
      properties: {
        kek: { $ref: '#/$defs/kek' },
        previous: { type: 'array', items: { $ref: '#/$defs/kek' } },
        tenants: { type: 'object', additionalProperties: { $ref: '#/$defs/kek' } },
        subjectKeys: { type: 'string', minLength: 1 },
      },
    },
    ledger: {
      type: 'object',
      additionalProperties: false,
      properties: {
        retainPayloads: { type: 'boolean' },
        publicEntries: { type: 'boolean' },
        previousKeys: { type: 'array', items: { type: 'string', pattern: '^[^+\\s]+\\+[0-9a-f]{8}\\+[A-Za-z0-9+/=]+$' } },
        keyRotation: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean' },
            intervalMs: { type: 'integer', minimum: 1000 },
            rotateAfterDays: { type: 'integer', minimum: 1 },
            overlapDays: { type: 'integer', minimum: 0 },
          },
        },
        postgres: {
          type: 'object',
          additionalProperties: false,
          required: ['connectionString'],
          properties: { connectionString: { type: 'string', pattern: '^postgres(ql)?://' }, prefix: { type: 'string', pattern: '^[a-z_][a-z0-9_]{0,40}$' } },
        },
        export: {
          type: 'object',
          additionalProperties: false,
          properties: {
            file: { type: 'string', minLength: 1 },
            webhook: { type: 'string', pattern: '^https?://' },
            intervalMs: { type: 'integer', minimum: 100 },
            batchSize: { type: 'integer', minimum: 1, maximum: 10000 },
            // RFC 5424 messages over TLS (RFC 5425 octet counting) to a syslog collector.
            syslog: {
              type: 'object',
              additionalProperties: false,
              required: ['host', 'caFile'],
              properties: {
                host: { type: 'string', minLength: 1 },
                port: { type: 'integer', minimum: 1, maximum: 65535 },
                caFile: { type: 'string', minLength: 1 },
                serverName: { type: 'string', minLength: 1 },
                clientTls: { $ref: '#/$defs/certPair' },
                facility: { type: 'integer', minimum: 0, maximum: 23 },
                appName: { type: 'string', pattern: '^[\\x21-\\x7e]{1,48}$' },
                hostname: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
                settleMs: { type: 'integer', minimum: 0, maximum: 600000 },
              },
            },
            // OTLP/HTTP (JSON) logs, e.g. to an OpenTelemetry Collector.
            otlpLogs: {
              type: 'object',
              additionalProperties: false,
              required: ['endpoint'],
              properties: { endpoint: { $ref: '#/$defs/httpUrl' }, serviceName: { $ref: '#/$defs/serviceName' } },
            },
          },
        },
        witnesses: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'url', 'key'],
            properties: {
              name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
              url: { type: 'string', pattern: '^https?://[^\\s]+$' },
              // C2SP tlog-cosignature vkey: <name>+<8 hex key id>+base64(0x04 || Ed25519 key).
              key: { type: 'string', pattern: '^[^+\\s]+\\+[0-9a-f]{8}\\+[A-Za-z0-9+/]+={0,2}$' },
            },
          },
        },
        witnessIntervalMs: { type: 'integer', minimum: 1000, maximum: 86400000 },
        signingKey: { $ref: '#/$defs/pkcs11Key' },
      },
    },
    policies: {
      type: 'object',
      additionalProperties: false,
      properties: { dir: { type: 'string', minLength: 1 } },
    },
    // The data plane (docs/data.md): lineage events also POSTed to an OpenLineage endpoint (HTTP transport).
    data: {
      type: 'object',
      additionalProperties: false,
      properties: {
        lineage: {
          type: 'object',
          additionalProperties: false,
          required: ['endpoint'],
          properties: {
            endpoint: { $ref: '#/$defs/httpUrl' },
            token: { type: 'string', minLength: 1 },
            tokenEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
            caFile: { type: 'string', minLength: 1 },
            attempts: { type: 'integer', minimum: 1, maximum: 10 },
            retryDelayMs: { type: 'integer', minimum: 0, maximum: 60000 },
            timeoutMs: { type: 'integer', minimum: 100, maximum: 120000 },
          },
        },
        sweepIntervalMs: { type: 'integer', minimum: 50, maximum: 3600000 },
        // `warden data screen --config`: the thresholds over which it exits 1 (docs/data.md "Poisoning screen").
        screen: {
          type: 'object',
          additionalProperties: false,
          properties: { thresholds: thresholdsSchema() },
        },
      },
    },
    // The classification levels, lowest first, and where the detectors' own sensitivities land among them
    // (docs/inspect.md "Classification levels"); the loader refuses a duplicate, an unknown or a missing level.
    classification: {
      type: 'object',
      additionalProperties: false,
      properties: {
        levels: { type: 'array', minItems: 1, maxItems: 32, items: { type: 'string', pattern: LEVEL_NAME.source } },
        detectors: {
          type: 'object',
          additionalProperties: false,
          properties: Object.fromEntries(BUILT_IN_LEVELS.map((b) => [b, { type: 'string', pattern: LEVEL_NAME.source }])),
        },
      },
    },
    // Classification decides placement (docs/retrieval.md "Placement"): class → tiers/regions, tenant residency.
    // A class is one of classification.levels (checked by the loader).
    placement: {
      type: 'object',
      additionalProperties: false,
      properties: {
        classes: {
          type: 'object',
          propertyNames: { pattern: LEVEL_NAME.source },
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              tiers: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
              regions: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
              // How long data of this class is kept (retained payloads, retrieval chunks): 30d, 12h, or indefinite.
              retention: { type: 'string', pattern: '^(indefinite|[1-9][0-9]{0,8}(s|m|h|d))$' },
            },
          },
        },
        tenants: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            required: ['regions'],
            properties: { regions: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } } },
          },
        },
        region: { type: 'string', minLength: 1 },
        // How often expired payloads and chunks are deleted (reads refuse them as soon as they expire).
        sweepIntervalMs: { type: 'integer', minimum: 1000 },
      },
    },
    // Vector stores on the inference listener (docs/retrieval.md).
    retrieval: {
      type: 'object',
      additionalProperties: false,
      properties: {
        embeddingModel: { type: 'string', minLength: 1 },
        index: { enum: ['auto', 'exact-scan'] },
        // How long a file uploaded through /v1/files is kept for adding to a vector store (ms; 1 min .. 30 days).
        uploadTtlMs: { type: 'integer', minimum: 60000, maximum: 2592000000 },
      },
    },
    // Agent-to-agent calls through /a2a/{id} (docs/agents.md).
    agents: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxDepth: { type: 'integer', minimum: 1, maximum: 4 },
        cardRecheckMs: { type: 'integer', minimum: 0 },
        timeoutMs: { type: 'integer', minimum: 1 },
        maxResponseBytes: { type: 'integer', minimum: 1024 },
      },
    },
    budgets: {
      type: 'object',
      additionalProperties: false,
      properties: {
        limits: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['scope', 'id', 'window'],
            properties: {
              scope: { enum: ['key', 'principal', 'tenant'] },
              id: { type: 'string', minLength: 1 },
              window: { enum: ['day', 'week', 'month', 'lifetime'] },
              tokens: { type: 'integer', minimum: 0 },
              cost: { type: 'number', minimum: 0 },
            },
          },
        },
        prices: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            required: ['inputPer1k', 'outputPer1k'],
            properties: { inputPer1k: { type: 'number', minimum: 0 }, outputPer1k: { type: 'number', minimum: 0 } },
          },
        },
        defaultMaxTokens: { type: 'integer', minimum: 1 },
      },
    },
    store: {
      type: 'object',
      additionalProperties: false,
      properties: {
        postgres: {
          type: 'object',
          additionalProperties: false,
          // Exactly one of the inline string and the environment variable that holds it (checked in config.ts).
          properties: {
            connectionString: { type: 'string', pattern: '^postgres(ql)?://' },
            connectionStringEnv: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' },
            prefix: { type: 'string', pattern: '^[a-z_][a-z0-9_]{0,30}$' },
          },
        },
        redis: {
          type: 'object',
          additionalProperties: false,
          properties: {
            url: { type: 'string', pattern: '^rediss?://' },
            urlEnv: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' },
            prefix: { type: 'string', pattern: '^[A-Za-z0-9:_.-]{1,64}$' },
          },
        },
      },
    },
    groups: {
      type: 'object',
      additionalProperties: { type: 'array', items: { type: 'string', minLength: 1 } },
    },
    workload: {
      type: 'object',
      additionalProperties: false,
      properties: {
        trustedSigners: { type: 'array', items: { type: 'string', minLength: 1 } },
        requireRegistered: { type: 'boolean' },
        servedDigestHeader: { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$' },
        refreshIntervalMs: { type: 'integer', minimum: 100 },
        requireSecondApprover: { type: 'boolean' },
        requireSbom: { type: 'boolean' },
        // Model-scan limits (docs/models.md, "Scanning"). Bounds keep an operator from switching a limit off
        // by accident: 0 or a negative number is refused, and so is a ceiling past what the scanner can mean.
        scan: {
          type: 'object',
          additionalProperties: false,
          properties: {
            maxPickleBytes: { type: 'integer', minimum: 1024, maximum: 68719476736 },
            maxOnnxBytes: { type: 'integer', minimum: 1024, maximum: 2147483648 },
            maxArchiveDepth: { type: 'integer', minimum: 1, maximum: 16 },
            maxDecompressedBytes: { type: 'integer', minimum: 1048576, maximum: 1099511627776 },
            maxArchiveMembers: { type: 'integer', minimum: 1, maximum: 100000000 },
            maxExpansionRatio: { type: 'number', minimum: 2, maximum: 1032 },
            extraAllowedGlobals: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_.]*\\.[A-Za-z_][A-Za-z0-9_]*$' } },
          },
        },
        provenance: {
          type: 'object',
          additionalProperties: false,
          required: ['allowedBuilderIds'],
          properties: {
            require: { type: 'boolean' },
            allowedBuilderIds: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
            allowedSourcePrefixes: { type: 'array', items: { type: 'string', minLength: 1 } },
            builderKeys: { type: 'array', items: { type: 'string', minLength: 1 } },
            allowUnsigned: { type: 'boolean' },
            requireDatasets: { type: 'boolean' },
          },
        },
        upstream: {
          type: 'object',
          additionalProperties: false,
          properties: {
            connections: { type: 'integer', minimum: 1, maximum: 4096 },
            connectTimeoutMs: { type: 'integer', minimum: 1 },
            headersTimeoutMs: { type: 'integer', minimum: 1 },
            bodyTimeoutMs: { type: 'integer', minimum: 1 },
            caFile: { type: 'string', minLength: 1 },
            clientTls: { $ref: '#/$defs/certPair' },
          },
        },
        attestation: {
          type: 'object',
          additionalProperties: false,
          properties: {
            nitroRoots: { type: 'array', items: { type: 'string', minLength: 1 } },
            amdCerts: { type: 'array', items: { type: 'string', minLength: 1 } },
            jwtIssuers: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['issuer', 'jwksUri'],
                properties: { issuer: { type: 'string', minLength: 1 }, jwksUri: { type: 'string', pattern: '^https://[^\\s]+$' } },
              },
            },
            evidencePath: { type: 'string', pattern: '^/[A-Za-z0-9._~/-]*$' },
            trustTtlMs: { type: 'integer', minimum: 1 },
            reverifyEveryMs: { type: 'integer', minimum: 1 },
            maxEvidenceAgeMs: { type: 'integer', minimum: 1 },
            fetchTimeoutMs: { type: 'integer', minimum: 1 },
            tdxCollateralDir: { type: 'string', minLength: 1 },
          },
        },
      },
    },
    demoUpstream: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { enum: ['auto', true, false] },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
      },
    },
    console: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        idleTimeoutSec: { type: 'integer', minimum: 60, maximum: 86400 },
        absoluteTimeoutSec: { type: 'integer', minimum: 300, maximum: 7 * 86400 },
        oidc: {
          type: 'object',
          additionalProperties: false,
          required: ['issuer', 'clientId'],
          properties: {
            issuer: { type: 'string', minLength: 1 },
            clientId: { type: 'string', minLength: 1 },
            clientSecretEnv: { type: 'string', minLength: 1 },
            scopes: { type: 'array', items: { type: 'string', minLength: 1 } },
          },
        },
        saml: {
          type: 'object',
          additionalProperties: false,
          required: ['entryPoint', 'idpIssuer', 'idpCertFile', 'spEntityId'],
          properties: {
            entryPoint: { type: 'string', pattern: '^https://[^\\s]+$' },
            idpIssuer: { type: 'string', minLength: 1 },
            idpCertFile: { type: 'string', minLength: 1 },
            spEntityId: { type: 'string', minLength: 1 },
            logoutUrl: { type: 'string', pattern: '^https://[^\\s]+$' },
            principalAttribute: { type: 'string', minLength: 1 },
            mfaAuthnContexts: { type: 'array', items: { type: 'string', minLength: 1 } },
            clockSkewSec: { type: 'integer', minimum: 0, maximum: 300 },
          },
        },
      },
    },
    oidc: {
      type: 'object',
      additionalProperties: false,
      properties: {
        issuers: {
          type: 'array',
          items: {
            type: 'object',
            required: ['issuer', 'audience'],
            additionalProperties: false,
            properties: {
              issuer: { type: 'string', minLength: 1 },
              audience: { type: 'string', minLength: 1 },
              jwksUri: { type: 'string' },
              discovery: { type: 'boolean' },
              algorithms: { type: 'array', items: { type: 'string' } },
              clockSkewSec: { type: 'integer', minimum: 0, maximum: 300 },
              claims: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  subject: { type: 'string', minLength: 1 },
                  groups: { type: 'string', minLength: 1 },
                  tenant: { $ref: '#/$defs/claimOrFixed' },
                  kind: {
                    type: 'object',
                    additionalProperties: false,
                    minProperties: 1,
                    maxProperties: 1,
                    properties: { claim: { type: 'string', minLength: 1 }, fixed: { enum: ['user', 'service', 'agent'] } },
                  },
                  mfaAmrValues: { type: 'array', items: { type: 'string', minLength: 1 } },
                },
              },
              scope: { $ref: '#/$defs/scope' },
              /** PEM CA certificate(s) trusted for this issuer's discovery and JWKS fetches only (a private IdP). */
              caFile: { type: 'string', minLength: 1 },
              fetchTimeoutMs: { type: 'integer', minimum: 1, maximum: 60000 },
              jwksCooldownMs: { type: 'integer', minimum: 0 },
              jwksMaxAgeMs: { type: 'integer', minimum: 1000 },
              requireAccessTokenTyp: { type: 'boolean' },
            },
          },
        },
      },
    },
    httpSignatures: {
      type: 'object',
      additionalProperties: false,
      properties: {
        windowSec: { type: 'integer', minimum: 1 },
        clients: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['keyId', 'publicKeyFile', 'principal'],
            properties: {
              keyId: { type: 'string', minLength: 1 },
              publicKeyFile: { type: 'string', minLength: 1 },
              principal: { type: 'string', minLength: 1 },
              alg: { enum: ['ed25519', 'ecdsa-p256-sha256'] },
              scope: { $ref: '#/$defs/scope' },
            },
          },
        },
      },
    },
    spiffe: {
      type: 'object',
      additionalProperties: false,
      properties: {
        trustDomains: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
        clientCaFile: { type: 'string' },
        tenant: { type: 'string', minLength: 1 },
        defaultKind: { enum: ['user', 'service', 'agent'] },
        rules: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['idPrefix'],
            properties: {
              idPrefix: { type: 'string', minLength: 1 },
              kind: { enum: ['user', 'service', 'agent'] },
              tenant: { type: 'string', minLength: 1 },
              groups: { type: 'array', items: { type: 'string', minLength: 1 } },
              scope: { $ref: '#/$defs/scope' },
            },
          },
        },
        scope: { $ref: '#/$defs/scope' },
      },
    },
    // Network segmentation for `warden k8s render`: who may reach each listener, and where Warden may connect.
    segmentation: {
      type: 'object',
      additionalProperties: false,
      required: ['inference', 'admin', 'egress'],
      properties: {
        namespace: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' },
        inference: { type: 'object', additionalProperties: false, required: ['from'], properties: { from: { type: 'array', minItems: 1, items: { $ref: '#/$defs/peer' } } } },
        admin: { type: 'object', additionalProperties: false, required: ['from'], properties: { from: { type: 'array', minItems: 1, items: { $ref: '#/$defs/peer' } } } },
        extAuthz: { type: 'object', additionalProperties: false, required: ['from'], properties: { from: { type: 'array', minItems: 1, items: { $ref: '#/$defs/peer' } } } },
        egress: {
          type: 'object',
          additionalProperties: false,
          properties: {
            postgres: { $ref: '#/$defs/egressRule' },
            redis: { $ref: '#/$defs/egressRule' },
            upstreams: { type: 'array', items: { $ref: '#/$defs/egressRule' } },
            tools: { type: 'array', items: { $ref: '#/$defs/egressRule' } },
            dns: { $ref: '#/$defs/egressRule' },
          },
        },
      },
    },
    telemetry: {
      type: 'object',
      additionalProperties: false,
      properties: {
        traces: {
          type: 'object',
          additionalProperties: false,
          required: ['endpoint'],
          properties: {
            endpoint: { $ref: '#/$defs/httpUrl' },
            serviceName: { $ref: '#/$defs/serviceName' },
            sampleRatio: { type: 'number', minimum: 0, maximum: 1 },
            batchDelayMs: { type: 'integer', minimum: 10, maximum: 60000 },
          },
        },
        // The /metrics registry pushed as OTLP/HTTP metrics (src/telemetry/metrics-otlp.ts).
        metrics: {
          type: 'object',
          additionalProperties: false,
          required: ['endpoint'],
          properties: {
            endpoint: { $ref: '#/$defs/httpUrl' },
            serviceName: { $ref: '#/$defs/serviceName' },
            intervalMs: { type: 'integer', minimum: 100, maximum: 3600000 },
          },
        },
      },
    },
    // Envoy external authorization (src/gateway/ext-authz): a mesh asks Warden for decisions over gRPC and/or HTTP.
    extAuthz: {
      type: 'object',
      additionalProperties: false,
      required: ['clientCaFile'],
      properties: {
        grpc: { type: 'object', additionalProperties: false, required: ['port'], properties: { host: { type: 'string', minLength: 1 }, port: { type: 'integer', minimum: 0, maximum: 65535 } } },
        http: {
          type: 'object',
          additionalProperties: false,
          required: ['port'],
          properties: {
            host: { type: 'string', minLength: 1 },
            port: { type: 'integer', minimum: 0, maximum: 65535 },
            pathPrefix: { type: 'string', pattern: '^/[^?#\\s]*[^/?#\\s]$' },
            trustedProxies: { type: 'array', items: { type: 'string', minLength: 1 } },
          },
        },
        tls: { $ref: '#/$defs/certPair' },
        // The CA that issued the mesh proxies' client certificates: only they may ask for checks.
        clientCaFile: { type: 'string', minLength: 1 },
        // URI or DNS subject alternative names of the proxies allowed to ask (absent: any the CA issued).
        allowedClients: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
      },
    },
    shutdown: {
      type: 'object',
      additionalProperties: false,
      properties: {
        // How long SIGTERM waits for in-flight requests and streams before cutting them (Kubernetes' default
        // terminationGracePeriodSeconds is 30 s: keep this below it).
        drainTimeoutMs: { type: 'integer', minimum: 0, maximum: 3600000 },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      properties: {
        level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
        accessLog: { type: 'boolean' },
        auditToLog: { type: 'boolean' },
      },
    },
  },
  $defs: {
    kek: {
      oneOf: [
        { type: 'object', additionalProperties: false, required: ['file'], properties: { file: { type: 'string', minLength: 1 } } },
        { $ref: '#/$defs/pkcs11Key' },
        // HashiCorp Vault transit (src/data/crypto/vault-transit-kek.ts); the token comes from an environment variable.
        {
          type: 'object',
          additionalProperties: false,
          required: ['vaultTransit'],
          properties: {
            vaultTransit: {
              type: 'object',
              additionalProperties: false,
              required: ['address', 'key', 'tokenEnv'],
              properties: {
                address: { type: 'string', pattern: '^https?://[^\\s]+$' },
                mount: { type: 'string', minLength: 1 },
                key: { type: 'string', minLength: 1 },
                tokenEnv: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' },
                caFile: { type: 'string', minLength: 1 },
                timeoutMs: { type: 'integer', minimum: 100 },
              },
            },
          },
        },
      ],
    },
    /** A key held in a PKCS#11 token, found by token and key label; the PIN comes from an environment variable. */
    pkcs11Key: {
      type: 'object',
      additionalProperties: false,
      required: ['pkcs11', 'pinEnv'],
      properties: {
        pkcs11: {
          type: 'object',
          additionalProperties: false,
          required: ['module', 'tokenLabel', 'keyLabel'],
          properties: { module: { type: 'string', minLength: 1 }, tokenLabel: { type: 'string', minLength: 1, maxLength: 32 }, keyLabel: { type: 'string', minLength: 1 } },
        },
        pinEnv: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' },
      },
    },
    /** An http(s) URL (OTLP endpoints). */
    httpUrl: { type: 'string', pattern: '^https?://[^\\s]+$' },
    /** OpenTelemetry service.name. */
    serviceName: { type: 'string', minLength: 1, maxLength: 256 },
    /** A NetworkPolicy peer: pods (by namespace and/or labels) or an address block, not both. */
    peer: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        namespace: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' },
        podLabels: { type: 'object', minProperties: 1, additionalProperties: { type: 'string', pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$', maxLength: 63 } },
        cidr: { type: 'string', minLength: 1 },
      },
    },
    egressRule: {
      type: 'object',
      additionalProperties: false,
      required: ['to', 'ports'],
      properties: {
        to: { type: 'array', minItems: 1, items: { $ref: '#/$defs/peer' } },
        ports: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 1, maximum: 65535 } },
      },
    },
    scope: {
      type: 'object',
      additionalProperties: false,
      required: ['models', 'actions'],
      properties: {
        models: { type: 'array', items: { type: 'string', minLength: 1 } },
        actions: { type: 'array', items: { type: 'string', minLength: 1 } },
      },
    },
    /** A value read from a token claim, or fixed: exactly one of the two. */
    claimOrFixed: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      maxProperties: 1,
      properties: { claim: { type: 'string', minLength: 1 }, fixed: { type: 'string', minLength: 1 } },
    },
    /** A PEM certificate (chain) and its private key (mode 0600), checked at start-up (src/network/server-cert.ts). */
    certPair: {
      type: 'object',
      additionalProperties: false,
      required: ['certFile', 'keyFile'],
      properties: { certFile: { type: 'string', minLength: 1 }, keyFile: { type: 'string', minLength: 1 } },
    },
    listener: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        mtls: { enum: ['off', 'optional', 'required'] },
        clientCaFile: { type: 'string' },
        publicUrl: { type: 'string', pattern: '^https://[^/?#\\s]+/?$' },
        trustedProxies: { type: 'array', items: { type: 'string', minLength: 1 } },
        tls: { $ref: '#/$defs/certPair' },
      },
    },
  },
} as const;
