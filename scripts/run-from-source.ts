/**
 * Used by the packages' bin scripts inside this workspace only (installed
 * packages have no src/ and run dist/): true when this Node process resolves
 * `@fhe-llm/*` to TypeScript sources. When it does not (someone ran
 * `node packages/relay/bin/fhe-llm-relay.js` by hand), run the same command
 * again in a child with the condition in NODE_OPTIONS, forwarding signals
 * and the exit status, and return false.
 */
import { spawn } from 'node:child_process';
import { SOURCE_FLAG, withSourceCondition } from './source-condition.ts';

export function sourceConditionActive(): boolean {
  return process.execArgv.includes(SOURCE_FLAG) || (process.env.NODE_OPTIONS ?? '').split(/\s+/).includes(SOURCE_FLAG);
}

export function rerunWithSourceCondition(): void {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_OPTIONS: withSourceCondition(process.env.NODE_OPTIONS) },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
