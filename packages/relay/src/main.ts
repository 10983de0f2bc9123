import { applyHeapGrowth } from '@fhe-llm/core/node';
import { helpText, parseCommandLine } from './config.ts';
import { createLogger } from './logger.ts';
import { Relay } from './relay.ts';

/** The `fhe-llm-relay` command: configure, serve, and shut down cleanly on SIGTERM/SIGINT. */
export async function main(argv: readonly string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\nRun fhe-llm-relay --help for the options.\n`);
    process.exitCode = 2;
    return;
  }
  if (parsed.help) {
    process.stdout.write(`${helpText()}\n`);
    return;
  }
  // Before the evaluation workers start: V8 flags are process-wide and read when each thread collects.
  applyHeapGrowth(parsed.config.heapGrowthPercent);
  const logger = createLogger(parsed.config.logLevel);
  const relay = new Relay(parsed.config, { logger });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    relay.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    await relay.start();
  } catch (error) {
    logger.fatal({ err: error }, 'cannot start');
    await relay.close().catch(() => {});
    process.exit(1);
  }
}

await main(process.argv.slice(2));
