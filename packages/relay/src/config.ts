import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { AUTO_PRESET, DEFAULT_PRESET, getPreset, LARGE_MODEL_PRESET, presetIds, RELAY_EMBEDDING_MAX_VOCAB } from '@fhe-llm/core';
import { DEFAULT_HEAP_GROWTH_PERCENT } from '@fhe-llm/core/node';
import { RESPONSE_PRIVACY_MODES } from '@fhe-llm/core/protocol';

/**
 * A model to host: its public id, the model file or folder (llama2.c, GGUF or
 * a Hugging Face folder), and a tokenizer file when the model carries none.
 */
export interface ModelSpec {
  id: string;
  checkpoint: string;
  tokenizer?: string;
}

const MiB = 1024 * 1024;
// The package's own copy (models/, written by its build for npm), else the repository's.
const bundledDir =
  [new URL('../models/stories260K/', import.meta.url), new URL('../../../models/stories260K/', import.meta.url)]
    .map((url) => fileURLToPath(url))
    .find((dir) => existsSync(resolve(dir, 'stories260K.bin'))) ?? fileURLToPath(new URL('../models/stories260K/', import.meta.url));

/** The model served when none is configured: stories260K, shipped in the repository and in the npm package. */
export const BUNDLED_MODEL: ModelSpec = {
  id: 'stories260K',
  checkpoint: resolve(bundledDir, 'stories260K.bin'),
  tokenizer: resolve(bundledDir, 'tok512.bin'),
};

export const DEFAULT_CORS_ORIGINS = ['http://localhost:*', 'http://127.0.0.1:*'];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `id=PATH` or `id=PATH:TOKENIZER` (PATH a model file or folder); paths relative to the working directory. */
export function parseModelSpec(text: string): ModelSpec {
  const eq = text.indexOf('=');
  const colon = text.indexOf(':', eq + 1);
  if (eq < 1 || eq === text.length - 1 || colon === eq + 1 || colon === text.length - 1) {
    throw new Error(`expected id=PATH or id=PATH:TOKENIZER, got "${text}"`);
  }
  const id = text.slice(0, eq);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id)) throw new Error(`model id "${id}" must be 1-64 letters, digits, '.', '_' or '-'`);
  if (colon < 0) return { id, checkpoint: resolve(text.slice(eq + 1)) };
  return { id, checkpoint: resolve(text.slice(eq + 1, colon)), tokenizer: resolve(text.slice(colon + 1)) };
}

const modelSpecSchema = z.string().transform((text, ctx) => {
  try {
    return parseModelSpec(text.trim());
  } catch (error) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
    return z.NEVER;
  }
});

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
/** A switch: true from a bare flag, or 'true'/'1'/'yes' (and their opposites) from the environment. */
const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])]).transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

export const relayConfigSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: int(0, 65535).default(8080),
    metricsPort: int(0, 65535).optional(),
    models: z
      .array(modelSpecSchema)
      .optional()
      .transform((models) => (models?.length ? models : [BUNDLED_MODEL]))
      .refine((models) => new Set(models.map((m) => m.id)).size === models.length, 'model ids must be unique'),
    preset: z
      .string()
      .refine((id) => id === AUTO_PRESET || presetIds.includes(id), { message: `preset must be one of ${[AUTO_PRESET, ...presetIds].join(', ')}` })
      .default(AUTO_PRESET),
    allowInsecurePreset: flag.default(false),
    workers: int(1, 256).default(availableParallelism()),
    maxQueue: int(1).default(64),
    keyCacheBytes: int(1).default(256 * MiB),
    memoryBudget: int(1).optional(),
    workerHeapBytes: int(16 * MiB).default(2048 * MiB),
    // The relay's JavaScript heaps are small (tens of MiB: SEAL's data lives in WebAssembly memory), and for
    // small heaps V8 grows the old generation by as little as 10% between full collections: under load each
    // thread then ran one about twice a second. See applyHeapGrowth.
    heapGrowthPercent: int(0, 1000).default(DEFAULT_HEAP_GROWTH_PERCENT),
    sessionTtl: int(1).default(3600),
    sessionMaxLifetime: int(1).default(86_400),
    maxSessions: int(1).default(1_000),
    maxSessionsPerClient: int(1).default(16),
    requestTimeoutMs: int(1).default(30_000),
    bodyReadTimeoutMs: int(100).default(10_000),
    bodyBytesInFlight: int(1).default(256 * MiB),
    bodyBytesInFlightPerClient: int(1).default(32 * MiB),
    keepAliveTimeoutMs: int(1_000).default(75_000),
    corsOrigins: z.array(z.string().min(1)).default(DEFAULT_CORS_ORIGINS),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    tileParallelism: int(1, 64).optional(),
    embedding: z.enum(['auto', 'client', 'relay']).default('auto'),
    workerStartupTimeout: int(1).default(900),
    shardSteps: z.enum(['auto', 'off']).default('auto'),
    sharedPartsMaxBytes: int(0).default(64 * MiB),
    // Re-randomizing costs a few percent of relay CPU per token (docs/benchmarks.md), so it is on; flooding
    // costs output precision and stays opt-in.
    responsePrivacy: z.enum(RESPONSE_PRIVACY_MODES).default('rerandomize'),
    responseFloodSigma: z.coerce.number().positive().max(1).default(1e-3),
    staticDir: z
      .string()
      .min(1)
      .transform((dir) => resolve(dir))
      .optional(),
    redisUrl: z
      .string()
      .url()
      .refine((url) => /^rediss?:$/.test(new URL(url).protocol), 'use redis:// or rediss://')
      .optional(),
    rateLimitStepsPerMinute: int(0).default(6_000),
    maxConcurrentStepsPerClient: int(1).default(8),
    rateLimitSessionsPerHour: int(0).default(60),
    // Off by default: existing deployments and demos keep working; operators who care about extraction rate opt in.
    queryBudgetVectorsPerWindow: int(0).default(0),
    queryBudgetWindowSeconds: int(1).default(3600),
    queryBudgetVectorsTotal: int(0).default(0),
    trustProxyHops: int(0, 16).default(0),
    // Tracing is off (the SDK not even loaded) unless an OTLP endpoint is given.
    otlpEndpoint: z
      .string()
      .url()
      .refine((url) => /^https?:$/.test(new URL(url).protocol), 'use an http:// or https:// OTLP endpoint')
      .optional(),
    // Keys are secrets: validated for length only, never echoed in errors or logs.
    apiKeys: z.array(z.string().min(16, 'API keys must be at least 16 characters')).default([]),
    // Keys fetched over plain http could be swapped by anyone on the path: https only, loopback excepted (tests, sidecars).
    jwksUrl: z
      .string()
      .url()
      .refine((url) => {
        const u = new URL(url);
        return u.protocol === 'https:' || (u.protocol === 'http:' && /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/i.test(u.hostname));
      }, 'use an https JWKS URL (plain http only on loopback)')
      .optional(),
    jwtMaxAgeSeconds: int(1).default(3600),
    jwtIssuer: z.string().min(1).optional(),
    jwtAudience: z.string().min(1).optional(),
  })
  .superRefine((c, ctx) => {
    // A preset below 128-bit security only on purpose (tests, benchmarks): clients' data would not be protected.
    if (presetIds.includes(c.preset) && getPreset(c.preset).securityLevel < 128 && !c.allowInsecurePreset) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['preset'], message: `${c.preset} is below 128-bit security; add --allow-insecure-preset to use it anyway (tests only)` });
    }
    // Without both checks a token the identity provider issued for another application would pass.
    if (c.jwksUrl && (!c.jwtIssuer || !c.jwtAudience)) {
      for (const path of ['jwtIssuer', 'jwtAudience'] as const) if (!c[path]) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [path], message: 'required with --jwks-url' });
    }
  });

export type RelayConfig = z.output<typeof relayConfigSchema>;
export type RelayConfigInput = z.input<typeof relayConfigSchema>;

interface OptionSpec {
  key: keyof RelayConfig;
  flag: string;
  env: string;
  /** A conventional variable read when `env` is unset, e.g. PORT, which container platforms set. */
  fallbackEnv?: string;
  value: string;
  repeatable?: boolean;
  /** A switch without a value (`--flag`); its variable takes true/false. */
  boolean?: boolean;
  help: string;
}

/** Every setting: one flag and one environment variable each (a flag wins over the variable). */
export const OPTIONS: readonly OptionSpec[] = [
  { key: 'host', flag: 'host', env: 'FHE_LLM_HOST', value: 'address', help: 'interface to listen on' },
  { key: 'port', flag: 'port', env: 'FHE_LLM_PORT', fallbackEnv: 'PORT', value: 'n', help: 'TCP port (0 = any free port, printed in the "listening" log line)' },
  {
    key: 'metricsPort',
    flag: 'metrics-port',
    env: 'FHE_LLM_METRICS_PORT',
    value: 'n',
    help: 'serve /metrics on this port (same interface) instead of the API port, so the public port does not expose it (0 = any free port)',
  },
  {
    key: 'models',
    flag: 'model',
    env: 'FHE_LLM_MODELS',
    value: 'id=PATH[:TOKENIZER]',
    repeatable: true,
    help: 'model to host: a llama2.c .bin, a GGUF file or a Hugging Face folder, with a tokenizer file when the model carries none (repeatable; the variable is comma-separated); default: the bundled stories260K',
  },
  {
    key: 'preset',
    flag: 'preset',
    env: 'FHE_LLM_PRESET',
    value: 'id',
    help: `CKKS preset (${presetIds.join(', ')}); ${AUTO_PRESET}: ${DEFAULT_PRESET}, or ${LARGE_MODEL_PRESET} with uploads priced higher for a model whose vectors outgrow ${DEFAULT_PRESET}'s slots (GPT-2 small and up)`,
  },
  {
    key: 'allowInsecurePreset',
    flag: 'allow-insecure-preset',
    env: 'FHE_LLM_ALLOW_INSECURE_PRESET',
    value: 'true|false',
    boolean: true,
    help: 'allow a preset below 128-bit security (insecure-...; tests and benchmarks only)',
  },
  { key: 'workers', flag: 'workers', env: 'FHE_LLM_WORKERS', value: 'n', help: 'evaluation worker threads' },
  {
    key: 'heapGrowthPercent',
    flag: 'heap-growth-percent',
    env: 'FHE_LLM_HEAP_GROWTH_PERCENT',
    value: 'n',
    help: "how far V8 lets each thread's JavaScript heap grow past its live size before the next full garbage collection, in per cent (0: V8's own choice, which keeps small heaps tight and collects them about twice a second under load); the relay's heaps hold tens of MiB, so the default 300 costs little memory and saves CPU per token (docs/benchmarks.md)",
  },
  { key: 'maxQueue', flag: 'max-queue', env: 'FHE_LLM_MAX_QUEUE', value: 'n', help: 'queued evaluation tasks before answering 503 overloaded (a request of more tasks is let in when none wait)' },
  { key: 'keyCacheBytes', flag: 'key-cache-bytes', env: 'FHE_LLM_KEY_CACHE_BYTES', value: 'bytes', help: 'deserialized Galois keys kept per worker (least recently used out)' },
  {
    key: 'memoryBudget',
    flag: 'memory-budget',
    env: 'FHE_LLM_MEMORY_BUDGET',
    value: 'bytes',
    help: "memory the relay may use (match the container's limit): each worker gets an equal share, less its key cache and a 128 MiB baseline, for pre-encoded weights; operators beyond it are encoded on each use (slower); default: no limit",
  },
  {
    key: 'workerHeapBytes',
    flag: 'worker-heap-bytes',
    env: 'FHE_LLM_WORKER_HEAP_BYTES',
    value: 'bytes',
    help: "a worker whose WebAssembly heap passes this is replaced after its task (the heap never shrinks; WebAssembly's ceiling is 4 GiB); raised to the models' own need plus the key cache and 256 MiB when they alone need more; the relay refuses to start when that passes 4 GiB",
  },
  { key: 'sessionTtl', flag: 'session-ttl', env: 'FHE_LLM_SESSION_TTL', value: 'seconds', help: 'idle time after which a session and its keys are forgotten' },
  {
    key: 'sessionMaxLifetime',
    flag: 'session-max-lifetime',
    env: 'FHE_LLM_SESSION_MAX_LIFETIME',
    value: 'seconds',
    help: 'absolute lifetime of a session, however active (the idle TTL slides, this does not)',
  },
  {
    key: 'maxSessionsPerClient',
    flag: 'max-sessions-per-client',
    env: 'FHE_LLM_MAX_SESSIONS_PER_CLIENT',
    value: 'n',
    help: 'live sessions one client (principal and address) may hold (beyond: 429 session_quota_exceeded)',
  },
  { key: 'maxSessions', flag: 'max-sessions', env: 'FHE_LLM_MAX_SESSIONS', value: 'n', help: 'live sessions before new ones are refused (each holds its Galois keys, ~1 MB for stories260K)' },
  { key: 'requestTimeoutMs', flag: 'request-timeout-ms', env: 'FHE_LLM_REQUEST_TIMEOUT_MS', value: 'ms', help: 'per-request deadline (503 deadline_exceeded)' },
  {
    key: 'bodyReadTimeoutMs',
    flag: 'body-read-timeout-ms',
    env: 'FHE_LLM_BODY_READ_TIMEOUT_MS',
    value: 'ms',
    help: 'a request body must arrive within this (408 body_timeout): slow senders are cut off',
  },
  {
    key: 'bodyBytesInFlight',
    flag: 'body-bytes-in-flight',
    env: 'FHE_LLM_BODY_BYTES_IN_FLIGHT',
    value: 'bytes',
    help: 'request-body bytes being read at once, all clients (reserved before reading; beyond: 503 body_budget_exhausted)',
  },
  {
    key: 'bodyBytesInFlightPerClient',
    flag: 'body-bytes-in-flight-per-client',
    env: 'FHE_LLM_BODY_BYTES_IN_FLIGHT_PER_CLIENT',
    value: 'bytes',
    help: 'request-body bytes one client (principal and address) may have in flight (beyond: 429 too_many_uploads)',
  },
  {
    key: 'keepAliveTimeoutMs',
    flag: 'keep-alive-timeout-ms',
    env: 'FHE_LLM_KEEP_ALIVE_TIMEOUT_MS',
    value: 'ms',
    help: "how long an idle keep-alive connection stays open; keep it above the load balancer's idle timeout for upstream connections (nginx, AWS ALB: 60 s), or it may reuse a connection the relay is closing and answer 502",
  },
  { key: 'corsOrigins', flag: 'cors-origin', env: 'FHE_LLM_CORS_ORIGINS', value: 'origin', repeatable: true, help: "allowed browser origin (repeatable; '*' wildcards a port or label)" },
  { key: 'logLevel', flag: 'log-level', env: 'FHE_LLM_LOG_LEVEL', value: 'level', help: LOG_LEVELS.join(', ') },
  {
    key: 'tileParallelism',
    flag: 'tile-parallelism',
    env: 'FHE_LLM_TILE_PARALLELISM',
    value: 'n',
    help: "workers one request may use: a lone output tile's giant steps (same total work) or several output tiles are spread over them, for lower latency per token; default: 2 with 2+ workers, or the worker count (steps sharded) for a model --preset auto gives ckks-flat-n8192-q120, else 1",
  },
  {
    key: 'workerStartupTimeout',
    flag: 'worker-startup-timeout',
    env: 'FHE_LLM_WORKER_STARTUP_TIMEOUT',
    value: 'seconds',
    help: 'evaluation workers must be ready this long after the models are prepared, or the relay exits (each worker pre-encodes its weights: minutes for a 100M-parameter model on a busy machine)',
  },
  {
    key: 'embedding',
    flag: 'embedding',
    env: 'FHE_LLM_EMBEDDING',
    value: 'auto|client|relay',
    help: `where tokens are embedded: 'relay' keeps the table here (the client uploads a one-hot vector over the vocabulary), 'client' publishes it at /v1/models/{id}/client-table (the first step becomes a small layer); auto: client above ${RELAY_EMBEDDING_MAX_VOCAB} tokens`,
  },
  {
    key: 'shardSteps',
    flag: 'shard-steps',
    env: 'FHE_LLM_SHARD_STEPS',
    value: 'auto|off',
    help: "auto: with 2+ workers, a step of 2+ output tiles is split across the workers (tile r on worker r mod n), so one request uses every core and each worker holds only its tiles' weights; off: any one worker evaluates a whole group and every worker holds every operator (less work per request under heavy load)",
  },
  {
    key: 'sharedPartsMaxBytes',
    flag: 'shared-parts-max-bytes',
    env: 'FHE_LLM_SHARED_PARTS_MAX_BYTES',
    value: 'bytes',
    help: 'with sharded steps: a lone output tile whose giant steps workers share (--tile-parallelism) is held whole by each of them up to this many bytes of plaintexts, so any free worker computes any part; a larger one is held apart, each part by its own worker, so its memory is split instead of repeated (0: always apart)',
  },
  {
    key: 'responsePrivacy',
    flag: 'response-privacy',
    env: 'FHE_LLM_RESPONSE_PRIVACY',
    value: 'off|rerandomize|flood',
    help: "rerandomize: add a fresh encryption of zero under the client's public key (uploaded with its session) to every response, so a response's randomness is no longer a function of the client's own ciphertexts and the weights; flood: also add Gaussian noise (--response-flood-sigma) that drowns the weight-dependent evaluation noise, at a cost in precision; off: return evaluated ciphertexts as they are (docs/split-inference.md)",
  },
  {
    key: 'responseFloodSigma',
    flag: 'response-flood-sigma',
    env: 'FHE_LLM_RESPONSE_FLOOD_SIGMA',
    value: 'x',
    help: 'with --response-privacy flood: standard deviation of the noise added to the real and imaginary part of every output slot, in output units (activations are O(1..100)); see docs/benchmarks.md for its effect on tokens',
  },
  { key: 'staticDir', flag: 'static', env: 'FHE_LLM_STATIC_DIR', value: 'dir', help: 'also serve a built site (e.g. the demo) from this directory at /' },
  {
    key: 'redisUrl',
    flag: 'redis-url',
    env: 'REDIS_URL',
    value: 'url',
    help: 'keep sessions, key blobs and rate-limit counters in Redis (redis:// or rediss://), shared by every replica (none: in this process)',
  },
  {
    key: 'rateLimitStepsPerMinute',
    flag: 'rate-limit-steps-per-minute',
    env: 'FHE_LLM_RATE_LIMIT_STEPS_PER_MINUTE',
    value: 'n',
    help: 'step requests per client per minute before 429 rate_limited (0 = no limit)',
  },
  {
    key: 'maxConcurrentStepsPerClient',
    flag: 'max-concurrent-steps-per-client',
    env: 'FHE_LLM_MAX_CONCURRENT_STEPS_PER_CLIENT',
    value: 'n',
    help: 'step requests one client (principal and address) may have in progress on a replica (beyond: 429 too_many_concurrent_requests), so one client cannot fill the shared queue',
  },
  {
    key: 'rateLimitSessionsPerHour',
    flag: 'rate-limit-sessions-per-hour',
    env: 'FHE_LLM_RATE_LIMIT_SESSIONS_PER_HOUR',
    value: 'n',
    help: 'session creations per client per hour before 429 rate_limited (0 = no limit)',
  },
  {
    key: 'queryBudgetVectorsPerWindow',
    flag: 'query-budget-vectors-per-window',
    env: 'FHE_LLM_QUERY_BUDGET_VECTORS_PER_WINDOW',
    value: 'n',
    help: 'activation vectors one principal (API key or JWT subject, else address) may have evaluated per window before 429 query_budget_exceeded (0 = no limit); at least the largest model maxVectors',
  },
  {
    key: 'queryBudgetWindowSeconds',
    flag: 'query-budget-window-seconds',
    env: 'FHE_LLM_QUERY_BUDGET_WINDOW_SECONDS',
    value: 'seconds',
    help: 'length of a query-budget window, starting at its first vector',
  },
  {
    key: 'queryBudgetVectorsTotal',
    flag: 'query-budget-vectors-total',
    env: 'FHE_LLM_QUERY_BUDGET_VECTORS_TOTAL',
    value: 'n',
    help: 'activation vectors one principal may ever have evaluated (kept in the session store; 0 = no limit)',
  },
  {
    key: 'trustProxyHops',
    flag: 'trust-proxy-hops',
    env: 'FHE_LLM_TRUST_PROXY_HOPS',
    value: 'n',
    help: 'proxies in front that append to X-Forwarded-For; the client address for rate limits is the n-th entry from its right (0 = the TCP peer)',
  },
  {
    key: 'otlpEndpoint',
    flag: 'otlp-endpoint',
    env: 'FHE_LLM_OTLP_ENDPOINT',
    fallbackEnv: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    value: 'url',
    help: 'export OpenTelemetry traces over OTLP/HTTP to this collector (spans go to <url>/v1/traces; OTEL_EXPORTER_OTLP_HEADERS and OTEL_SERVICE_NAME apply); none: tracing off',
  },
  {
    key: 'apiKeys',
    flag: 'api-key',
    env: 'FHE_LLM_API_KEYS',
    value: 'key',
    repeatable: true,
    help: 'require X-API-Key (or a client JWT) on /v1/models and /v1/sessions (repeatable; the variable is comma-separated; prefer it: flags show in ps)',
  },
  { key: 'jwksUrl', flag: 'jwks-url', env: 'FHE_LLM_JWKS_URL', value: 'url', help: 'accept X-Client-Token JWTs signed by a key of this JWK set (https; needs --jwt-issuer and --jwt-audience)' },
  { key: 'jwtIssuer', flag: 'jwt-issuer', env: 'FHE_LLM_JWT_ISSUER', value: 'iss', help: 'required "iss" of client JWTs' },
  { key: 'jwtAudience', flag: 'jwt-audience', env: 'FHE_LLM_JWT_AUDIENCE', value: 'aud', help: 'required "aud" of client JWTs' },
  { key: 'jwtMaxAgeSeconds', flag: 'jwt-max-age', env: 'FHE_LLM_JWT_MAX_AGE', value: 'seconds', help: 'oldest client JWT accepted, by its "iat" (tokens must also carry "exp" and "sub")' },
];

function describeDefault(key: keyof RelayConfig): string {
  const value = relayConfigSchema.parse({})[key];
  if (value === undefined) return 'none';
  if (key === 'models') return `${BUNDLED_MODEL.id} (bundled)`;
  if (Array.isArray(value)) return value.length ? value.join(', ') : 'none';
  return String(value);
}

export function helpText(): string {
  const lines = [
    'Usage: fhe-llm-relay [options]',
    '',
    'Serves encrypted linear-layer evaluation for LLaMA-family models (llama2.c, GGUF, Hugging Face) over HTTP.',
    '',
    'Options (flag / environment variable, default):',
  ];
  for (const o of OPTIONS) {
    lines.push(o.boolean ? `  --${o.flag}` : `  --${o.flag} <${o.value}>${o.repeatable ? ' ...' : ''}`);
    lines.push(`      ${o.env}${o.fallbackEnv ? ` (or ${o.fallbackEnv})` : ''}   ${o.help}`);
    lines.push(`      default: ${describeDefault(o.key)}`);
  }
  lines.push('  --help', '      print this text');
  return lines.join('\n');
}

export type ParsedCommandLine = { help: true } | { help: false; config: RelayConfig };

/** Merge environment and flags and validate; throws Error with every problem listed. */
export function parseCommandLine(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): ParsedCommandLine {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      ...Object.fromEntries(OPTIONS.map((o) => [o.flag, o.boolean ? { type: 'boolean' as const } : { type: 'string' as const, multiple: o.repeatable ?? false }])),
    },
  });
  if (values.help) return { help: true };
  const raw: Record<string, unknown> = {};
  for (const o of OPTIONS) {
    const fromFlag = (values as Record<string, string | string[] | boolean | undefined>)[o.flag];
    const fromEnv = [o.env, o.fallbackEnv].map((name) => (name ? env[name] : undefined)).find((v) => v !== undefined && v !== '');
    if (fromFlag !== undefined) raw[o.key] = fromFlag;
    else if (fromEnv !== undefined && fromEnv !== '')
      raw[o.key] = o.repeatable
        ? fromEnv
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : fromEnv;
  }
  const result = relayConfigSchema.safeParse(raw);
  if (!result.success) {
    const byKey = new Map(OPTIONS.map((o) => [o.key as string, o]));
    const problems = result.error.issues.map((issue) => {
      const o = byKey.get(String(issue.path[0]));
      return `${o ? `--${o.flag} / ${o.env}${o.fallbackEnv ? ` / ${o.fallbackEnv}` : ''}` : issue.path.join('.')}: ${issue.message}`;
    });
    throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return { help: false, config: result.data };
}

/**
 * Workers one request may use (the planner's `parallelism`): the flag, or 2
 * when there are 2+ workers. Sharing a lone tile's giant steps between two
 * workers adds no rotations (measured: stories260K 3.1 -> 3.5-3.8 tokens/s
 * over HTTP on 2 cores), so latency wins by default; 4 and more rarely pay
 * on the small steps of today's models.
 */
export function requestParallelism(config: Pick<RelayConfig, 'tileParallelism' | 'workers'>): number {
  return config.tileParallelism ?? Math.min(2, config.workers);
}
