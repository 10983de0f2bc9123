// Test support: a prepared model's whole split schedule under real CKKS in
// this process (client keys, the relay's operators, a runner between them).
import { CkksContext, SplitInferenceClient, type PreparedModel } from '../src/index.ts';
import { CkksClient } from '../src/client/index.ts';
import { StepOperators } from '../src/server/index.ts';
import { LocalFheStepRunner } from '../src/local/index.ts';

export interface LocalFhe {
  ctx: CkksContext;
  client: CkksClient;
  operators: StepOperators;
  runner: LocalFheStepRunner;
  /** A split client for the model (its client table included) over this runner. */
  splitClient(): SplitInferenceClient;
  /** Frees every node-seal object, last made first. */
  delete(): void;
}

export async function openLocalFhe(model: PreparedModel): Promise<LocalFhe> {
  const ctx = await CkksContext.create(model.descriptor.preset);
  const client = CkksClient.generate(ctx);
  const operators = new StepOperators(ctx, model.descriptor, model.schedule);
  const runner = new LocalFheStepRunner(client, operators);
  return {
    ctx,
    client,
    operators,
    runner,
    splitClient: () => new SplitInferenceClient(model.descriptor, runner, { clientTable: model.schedule.clientTable }),
    delete() {
      runner.delete();
      operators.delete();
      client.delete();
      ctx.delete();
    },
  };
}
