import type { GenerateArgs } from './generate-args.ts';
import type { GenerationReport } from './run-generation.ts';

/** Relay mode arrives with the SDK client; until then the CLI says so plainly. */
export async function generateThroughRelay(args: GenerateArgs, _options: object): Promise<GenerationReport> {
  throw new Error(`relay mode (--relay ${args.relayUrl}) is not available in this build`);
}
