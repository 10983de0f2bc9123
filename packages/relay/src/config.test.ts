import { AUTO_PRESET } from '@fhe-llm/core';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLED_MODEL, OPTIONS, helpText, parseCommandLine, parseModelSpec } from './config.ts';
import { weightBudget } from './relay.ts';

const config = (argv: string[], env: Record<string, string> = {}) => {
  const parsed = parseCommandLine(argv, env);
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.config;
};

describe('relay configuration', () => {
  it('defaults to the bundled model on 127.0.0.1:8080', () => {
    const c = config([]);
    expect(c).toMatchObject({ host: '127.0.0.1', port: 8080, preset: AUTO_PRESET, workers: availableParallelism(), maxQueue: 64 });
    expect(c.keyCacheBytes).toBe(256 * 1024 * 1024);
    expect(c.sessionTtl).toBe(3600);
    expect(c.requestTimeoutMs).toBe(30_000);
    expect(c.keepAliveTimeoutMs).toBe(75_000);
    expect(c.models).toEqual([BUNDLED_MODEL]);
    expect(c.corsOrigins).toEqual(['http://localhost:*', 'http://127.0.0.1:*']);
  });

  it('reads environment variables and lets flags win', () => {
    const c = config(['--port', '9000', '--model', 'a=x.bin:y.bin', '--model', 'b=p/q.bin:r.bin'], {
      FHE_LLM_PORT: '7000',
      FHE_LLM_HOST: '0.0.0.0',
      FHE_LLM_MODELS: 'c=1.bin:2.bin',
      FHE_LLM_WORKERS: '3',
    });
    expect(c.port).toBe(9000);
    expect(c.host).toBe('0.0.0.0');
    expect(c.workers).toBe(3);
    expect(c.models.map((m) => m.id)).toEqual(['a', 'b']);
    expect(c.models[1]).toEqual({ id: 'b', checkpoint: resolve('p/q.bin'), tokenizer: resolve('r.bin') });
  });

  it('takes a model path alone when the model carries its tokenizer', () => {
    expect(config(['--model', 'g=models/x.gguf']).models[0]).toEqual({ id: 'g', checkpoint: resolve('models/x.gguf') });
    expect(() => config(['--model', 'g='])).toThrow(/id=PATH/);
    expect(() => config(['--model', 'g=x.gguf:'])).toThrow(/id=PATH/);
  });

  it('honours PORT, as container platforms set it, below FHE_LLM_PORT and the flag', () => {
    expect(config([], { PORT: '7100' }).port).toBe(7100);
    expect(config([], { PORT: '7100', FHE_LLM_PORT: '7200' }).port).toBe(7200);
    expect(config(['--port', '7300'], { PORT: '7100' }).port).toBe(7300);
    expect(config([], { PORT: '', FHE_LLM_PORT: '' }).port).toBe(8080);
    expect(() => config([], { PORT: 'http' })).toThrow(/--port \/ FHE_LLM_PORT \/ PORT/);
  });

  it('splits comma-separated model lists from the environment', () => {
    expect(config([], { FHE_LLM_MODELS: 'a=1.bin:2.bin, b=3.bin:4.bin' }).models.map((m) => m.id)).toEqual(['a', 'b']);
  });

  it('rejects bad values with the flag and variable named', () => {
    expect(() => config(['--port', '70000'])).toThrow(/--port \/ FHE_LLM_PORT/);
    expect(() => config(['--preset', 'nope'])).toThrow(/preset must be one of/);
    expect(() => config(['--model', 'a=1.bin:2.bin', '--model', 'a=3.bin:4.bin'])).toThrow(/unique/);
    expect(() => config(['--workers', '0'])).toThrow(/workers/);
    expect(() => config(['--log-level', 'loud'])).toThrow(/log-level/);
    expect(() => config(['--unknown'])).toThrow();
  });

  it('reads Redis, rate limits and client credentials', () => {
    const c = config([], {});
    expect(c).toMatchObject({ rateLimitStepsPerMinute: 6000, rateLimitSessionsPerHour: 60, trustProxyHops: 0, apiKeys: [] });
    expect([c.redisUrl, c.jwksUrl]).toEqual([undefined, undefined]);
    const set = config(['--redis-url', 'redis://r:6379/0', '--rate-limit-steps-per-minute', '0', '--api-key', 'k'.repeat(16), '--api-key', 'q'.repeat(20)], {
      FHE_LLM_RATE_LIMIT_SESSIONS_PER_HOUR: '5',
      FHE_LLM_TRUST_PROXY_HOPS: '1',
    });
    expect(set).toMatchObject({ redisUrl: 'redis://r:6379/0', rateLimitStepsPerMinute: 0, rateLimitSessionsPerHour: 5, trustProxyHops: 1, apiKeys: ['k'.repeat(16), 'q'.repeat(20)] });
    expect(config([], { REDIS_URL: 'rediss://:pw@r:6380', FHE_LLM_API_KEYS: `${'a'.repeat(16)}, ${'b'.repeat(16)}` })).toMatchObject({
      redisUrl: 'rediss://:pw@r:6380',
      apiKeys: ['a'.repeat(16), 'b'.repeat(16)],
    });
    const jwt = config(['--jwks-url', 'https://id.test/jwks.json', '--jwt-issuer', 'https://id.test/', '--jwt-audience', 'relay']);
    expect(jwt).toMatchObject({ jwksUrl: 'https://id.test/jwks.json', jwtIssuer: 'https://id.test/', jwtAudience: 'relay' });
  });

  it('refuses a non-Redis URL, short API keys (without echoing them) and a JWKS URL without issuer and audience', () => {
    expect(() => config(['--redis-url', 'http://r:6379'])).toThrow(/--redis-url \/ REDIS_URL/);
    expect(() => config(['--rate-limit-steps-per-minute', '-1'])).toThrow(/rate-limit-steps-per-minute/);
    const short = () => config(['--api-key', 'short-secret']);
    expect(short).toThrow(/--api-key \/ FHE_LLM_API_KEYS: API keys must be at least 16/);
    expect(short).not.toThrow(/short-secret/);
    expect(() => config(['--jwks-url', 'https://id.test/jwks.json'])).toThrow(/--jwt-issuer[\s\S]*--jwt-audience/);
    const jwt = ['--jwt-issuer', 'i', '--jwt-audience', 'a'];
    expect(() => config(['--jwks-url', 'http://id.test/jwks.json', ...jwt])).toThrow(/--jwks-url \/ FHE_LLM_JWKS_URL: use an https JWKS URL/);
    expect(config(['--jwks-url', 'http://127.0.0.1:9000/jwks.json', ...jwt]).jwksUrl).toBe('http://127.0.0.1:9000/jwks.json');
    expect(config(['--jwt-max-age', '600']).jwtMaxAgeSeconds).toBe(600);
    expect(config([]).jwtMaxAgeSeconds).toBe(3600);
  });

  it('refuses a preset below 128-bit security unless --allow-insecure-preset (flag or variable) says so', () => {
    expect(() => config(['--preset', 'insecure-n2048-q109'])).toThrow(/--preset \/ FHE_LLM_PRESET: insecure-n2048-q109 is below 128-bit security/);
    expect(config(['--preset', 'insecure-n2048-q109', '--allow-insecure-preset'])).toMatchObject({ preset: 'insecure-n2048-q109', allowInsecurePreset: true });
    expect(config([], { FHE_LLM_PRESET: 'insecure-n2048-q109', FHE_LLM_ALLOW_INSECURE_PRESET: 'true' }).allowInsecurePreset).toBe(true);
    expect(() => config([], { FHE_LLM_PRESET: 'insecure-n2048-q109', FHE_LLM_ALLOW_INSECURE_PRESET: 'no' })).toThrow(/below 128-bit/);
    expect(config([]).allowInsecurePreset).toBe(false);
  });

  it('parses model specs strictly', () => {
    expect(parseModelSpec('m=a.bin:b.bin').id).toBe('m');
    expect(parseModelSpec('m=a.bin').tokenizer).toBeUndefined();
    for (const bad of ['a.bin:b.bin', '=a:b', 'm=', 'm=:b.bin', 'm=a.bin:', 'bad id=a:b']) expect(() => parseModelSpec(bad)).toThrow();
  });

  it('--help lists every flag, variable and default', () => {
    expect(parseCommandLine(['--help'], {})).toEqual({ help: true });
    const text = helpText();
    for (const o of OPTIONS) {
      expect(text).toContain(`--${o.flag}`);
      expect(text).toContain(o.env);
    }
    expect(text).toContain('default: 8080');
    expect(text).toContain('default: 268435456');
    expect(text).toContain('stories260K');
  });
});

describe('--heap-growth-percent', () => {
  it('defaults to 300, is read from the flag or FHE_LLM_HEAP_GROWTH_PERCENT, and 0 leaves V8 its own choice', () => {
    expect(config([]).heapGrowthPercent).toBe(300);
    expect(config(['--heap-growth-percent', '0']).heapGrowthPercent).toBe(0);
    expect(config([], { FHE_LLM_HEAP_GROWTH_PERCENT: '150' }).heapGrowthPercent).toBe(150);
    expect(() => config(['--heap-growth-percent', '-1'])).toThrow(/heap-growth-percent/);
    expect(() => config(['--heap-growth-percent', '5000'])).toThrow(/heap-growth-percent/);
  });
});

describe('--memory-budget', () => {
  const MiB = 1024 * 1024;
  it('is read from the flag or FHE_LLM_MEMORY_BUDGET and is absent by default', () => {
    expect(config([]).memoryBudget).toBeUndefined();
    expect(config(['--memory-budget', String(2048 * MiB)]).memoryBudget).toBe(2048 * MiB);
    expect(config([], { FHE_LLM_MEMORY_BUDGET: String(1024 * MiB) }).memoryBudget).toBe(1024 * MiB);
  });

  it("gives each worker's model its share of weights, less key cache and baseline", () => {
    expect(weightBudget({ memoryBudget: undefined, workers: 2, keyCacheBytes: 64 * MiB }, 1)).toEqual({});
    expect(weightBudget({ memoryBudget: 1024 * MiB, workers: 2, keyCacheBytes: 64 * MiB }, 1)).toEqual({ weightBudgetBytes: (512 - 64 - 128) * MiB });
    expect(weightBudget({ memoryBudget: 1024 * MiB, workers: 2, keyCacheBytes: 64 * MiB }, 2)).toEqual({ weightBudgetBytes: 160 * MiB });
  });

  it('refuses a budget that leaves no room for weights, saying how much is needed', () => {
    expect(() => weightBudget({ memoryBudget: 256 * MiB, workers: 2, keyCacheBytes: 64 * MiB }, 1)).toThrow(/at least 402653185 bytes/);
  });
});
