// The relay's HTTP API as OpenAPI 3.1, written by hand. A test checks that
// every route the app registers is listed here and nothing else.

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
const retryable = (description: string) => ({ ...errorResponse(description), headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds' } } });
const binary = { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } };
const modelId = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'model id' };
const sessionId = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{32}$' } };
// Client credentials are optional (the relay's --api-key / --jwks-url): when configured, one of them is required.
const client = [{}, { apiKey: [] }, { clientToken: [] }];
const bearer = [{ sessionToken: [] }, { sessionToken: [], apiKey: [] }, { sessionToken: [], clientToken: [] }];
const unauthenticated = errorResponse('unauthorized (session token), unauthenticated (X-API-Key / X-Client-Token missing or rejected when the relay requires one)');
const limited = retryable(
  'rate_limited: the client (API key or JWT subject with its address, else the address; IPv6 by /64) used its allowance; too_many_uploads, too_many_concurrent_requests, session_quota_exceeded: its share of bodies in flight, steps in progress or sessions',
);
// Present only when the relay has a query budget (--query-budget-vectors-per-window / -total).
const budgetHeaders = {
  'Query-Budget-Limit': { schema: { type: 'integer' }, description: 'activation vectors per window' },
  'Query-Budget-Remaining': { schema: { type: 'integer' }, description: 'vectors left in this window' },
  'Query-Budget-Reset': { schema: { type: 'integer' }, description: 'seconds until the window ends' },
  'Query-Budget-Total-Limit': { schema: { type: 'integer' }, description: 'activation vectors ever' },
  'Query-Budget-Total-Remaining': { schema: { type: 'integer' }, description: 'vectors left in total' },
};

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'fhe-llm relay',
    version: '0.1.0',
    description:
      'Evaluates the linear layers of hosted LLaMA models on CKKS ciphertexts. Clients upload Galois keys once per session, then send ' +
      'encrypted step inputs; the relay never holds a secret key. Binary bodies use the fhe-llm envelope (magic "FHLM"). ' +
      'Errors are JSON { error: { code, message } } with stable codes; 429 and 503 carry Retry-After. A relay may require a client ' +
      'credential on /v1/models and /v1/sessions: X-API-Key, or a JWT in X-Client-Token (Authorization carries the session token).',
  },
  components: {
    securitySchemes: {
      sessionToken: { type: 'http', scheme: 'bearer', description: '`<session id>.<secret>` as returned by POST /v1/sessions' },
      apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: "one of the relay's --api-key values (when configured)" },
      clientToken: {
        type: 'apiKey',
        in: 'header',
        name: 'X-Client-Token',
        description: "a JWT from the relay's --jwt-issuer for --jwt-audience, verified against --jwks-url (when configured); its subject keys rate limits",
      },
    },
    schemas: {
      Error: {
        type: 'object',
        required: ['error'],
        properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
      },
      ModelDescriptor: {
        type: 'object',
        description:
          'EncryptedModelDescriptor: format, id, config, normEps, ropeTheta, embedding ("relay" or "client"), steps (shapes and calibrated bounds), preset, planner, galoisSteps, maxVectors, msPerUploadByte (when uploads are priced above downloads), plans',
        required: ['format', 'id', 'config', 'steps', 'preset', 'galoisSteps', 'maxVectors', 'plans'],
        properties: {
          format: { type: 'string' },
          id: { type: 'string' },
          config: { type: 'object' },
          normEps: { type: 'number' },
          ropeTheta: { type: 'number' },
          steps: { type: 'array', items: { type: 'object' } },
          preset: { type: 'string' },
          planner: { type: 'integer' },
          galoisSteps: { type: 'array', items: { type: 'integer' } },
          maxVectors: { type: 'integer' },
          msPerUploadByte: { type: 'number' },
          plans: { type: 'array', items: { type: 'object' } },
        },
      },
      Session: {
        type: 'object',
        required: ['id', 'model', 'expiresAt', 'keysHash', 'keyBytes'],
        properties: {
          id: { type: 'string' },
          model: { type: 'string' },
          createdAt: { type: 'string', format: 'date-time' },
          expiresAt: { type: 'string', format: 'date-time' },
          keysHash: { type: 'string', description: 'sha256 hex of the serialized Galois keys' },
          keyBytes: { type: 'integer' },
        },
      },
      CreatedSession: {
        allOf: [{ $ref: '#/components/schemas/Session' }, { type: 'object', required: ['token'], properties: { token: { type: 'string', description: 'bearer token, shown once' } } }],
      },
    },
  },
  paths: {
    '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'the process runs' } } } },
    '/readyz': {
      get: {
        summary: 'Readiness',
        responses: {
          '200': { description: 'models loaded and workers up' },
          '503': retryable(
            'not_ready (starting or shutting down; the body also carries startup: phase, elapsedS, per-model phase and calibration fraction, workers ready of total), store_unavailable (Redis unreachable)',
          ),
        },
      },
    },
    '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
    '/v1/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
    '/v1/models': {
      get: {
        summary: 'Hosted models',
        security: client,
        responses: {
          '200': {
            description: 'descriptors, each with architecture, parameters, vocabulary {size, tokenizer}, format (llama2c, llama2c-v1, llama2c-v2, gguf, safetensors) and source (file or folder name)',
            content: { 'application/json': { schema: { type: 'object', properties: { models: { type: 'array', items: { $ref: '#/components/schemas/ModelDescriptor' } } } } } },
          },
          '401': unauthenticated,
          '503': retryable('not_ready, auth_unavailable'),
        },
      },
    },
    '/v1/models/{id}': {
      get: {
        summary: 'One model descriptor',
        security: client,
        parameters: [modelId],
        responses: {
          '200': { description: 'descriptor', content: { 'application/json': { schema: { $ref: '#/components/schemas/ModelDescriptor' } } } },
          '401': unauthenticated,
          '404': errorResponse('model_not_found'),
          '503': retryable('not_ready, auth_unavailable'),
        },
      },
    },
    '/v1/models/{id}/tokenizer': {
      get: {
        summary: 'The tokenizer file: llama2.c tokenizer.bin (application/octet-stream) or Hugging Face tokenizer.json (application/json); public',
        security: client,
        parameters: [modelId],
        responses: { '200': { description: 'tokenizer bytes', content: binary }, '401': unauthenticated, '404': errorResponse('model_not_found'), '503': retryable('not_ready, auth_unavailable') },
      },
    },
    '/v1/models/{id}/client-table': {
      get: {
        summary: 'The token-embedding table, float32 little-endian [vocab][dim], for a model whose descriptor says "embedding": "client" (public then); ETag is its SHA-256, If-None-Match answers 304',
        security: client,
        parameters: [modelId],
        responses: {
          '200': { description: 'table bytes', content: binary, headers: { ETag: { description: 'quoted hex SHA-256 of the body', schema: { type: 'string' } } } },
          '304': { description: 'the cached copy is current' },
          '401': unauthenticated,
          '404': errorResponse('model_not_found, client_table_not_served (the model embeds on the relay)'),
          '503': retryable('not_ready, auth_unavailable'),
        },
      },
    },
    '/v1/models/{id}/steps/{step}': {
      post: {
        summary: 'Evaluate one linear step on ciphertexts',
        description: "Body: ciphertexts envelope with vectors = number of input vectors, items = each group's input ciphertexts in order. Response: ciphertexts envelope of the outputs.",
        security: bearer,
        parameters: [modelId, { name: 'step', in: 'path', required: true, schema: { type: 'integer', minimum: 0 } }],
        requestBody: { required: true, content: binary },
        responses: {
          '200': {
            description: 'output ciphertexts envelope',
            content: binary,
            headers: {
              'Server-Timing': {
                description: "worker;dur=<ms>, worker-cpu;dur=<ms>: evaluation-worker busy (wall) time and CPU time for this request (with each worker's upkeep since its previous task)",
                schema: { type: 'string' },
              },
              ...budgetHeaders,
            },
          },
          '400': errorResponse(
            'envelope format: truncated, bad_magic, unsupported_version, bad_kind, bad_header, too_many_items, bad_preset, preset_mismatch, trailing_bytes; SEAL size rules: bad_seal_header, bad_compression, seal_object_too_large, inflation_limit, bad_seal_object',
          ),
          '401': unauthenticated,
          '403': errorResponse('session_principal_mismatch: the session was created under another client credential'),
          '404': errorResponse('model_not_found, step_not_found, session_not_found'),
          '408': errorResponse('body_timeout'),
          '409': errorResponse('session_model_mismatch'),
          '413': errorResponse('body_too_large'),
          '415': errorResponse('unsupported_media_type'),
          '422': errorResponse('invalid_ciphertext, bad_count, too_many_vectors, bad_size, bad_level, bad_form, bad_scale'),
          '429': {
            ...limited,
            description: `${limited.description}; query_budget_exceeded: the principal's activation vectors per window or in total (Retry-After only when the window's end makes room)`,
            headers: { ...limited.headers, ...budgetHeaders },
          },
          '503': retryable('overloaded, deadline_exceeded, not_ready, store_unavailable, store_corrupt, auth_unavailable, body_budget_exhausted'),
        },
      },
    },
    '/v1/sessions': {
      post: {
        summary: 'Upload Galois keys, open a session',
        security: client,
        parameters: [{ name: 'model', in: 'query', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: binary, description: "galoisKeys envelope for the model's preset: one item, vectors 0, keys for every step in the descriptor's galoisSteps" },
        responses: {
          '201': { description: 'session created', content: { 'application/json': { schema: { $ref: '#/components/schemas/CreatedSession' } } } },
          '400': errorResponse(
            'invalid_request, an envelope format code, a SEAL size rule (bad_seal_header, bad_compression, seal_object_too_large, inflation_limit, bad_seal_object) or too_many_galois_keys',
          ),
          '401': unauthenticated,
          '404': errorResponse('model_not_found'),
          '408': errorResponse('body_timeout'),
          '413': errorResponse('body_too_large'),
          '415': errorResponse('unsupported_media_type'),
          '422': errorResponse('invalid_keys, missing_galois_keys'),
          '429': limited,
          '503': retryable('overloaded, deadline_exceeded, too_many_sessions, not_ready, store_unavailable, auth_unavailable, body_budget_exhausted'),
        },
      },
    },
    '/v1/sessions/{id}': {
      get: {
        summary: 'Session status',
        security: bearer,
        parameters: [sessionId],
        responses: {
          '200': { description: 'session', content: { 'application/json': { schema: { $ref: '#/components/schemas/Session' } } } },
          '401': unauthenticated,
          '404': errorResponse('session_not_found'),
          '503': retryable('not_ready, store_unavailable, auth_unavailable'),
        },
      },
      delete: {
        summary: 'End a session and forget its keys',
        security: bearer,
        parameters: [sessionId],
        responses: { '204': { description: 'deleted' }, '401': unauthenticated, '404': errorResponse('session_not_found'), '503': retryable('not_ready, store_unavailable, auth_unavailable') },
      },
    },
  },
} as const;
