import type { Schedule } from './schedule.ts';
import type { StepRunner } from './split-client.ts';

/**
 * The Float64 twin of the encrypted relay: evaluates each schedule step in the
 * clear. Reference for the CKKS path, and the runner used for calibration.
 */
export class PlaintextStepRunner implements StepRunner {
  readonly schedule: Schedule;

  constructor(schedule: Schedule) {
    this.schedule = schedule;
  }

  async runStep(stepIndex: number, inputs: Float64Array[], signal?: AbortSignal): Promise<Float64Array[]> {
    signal?.throwIfAborted();
    const step = this.schedule.steps[stepIndex];
    if (step === undefined) throw new RangeError(`no step ${stepIndex} (schedule has ${this.schedule.steps.length})`);
    const { dIn, dOut, weight, bias } = step;
    for (const x of inputs) if (x.length !== dIn) throw new RangeError(`step ${step.id}: input has ${x.length} values, expected ${dIn}`);
    const outputs = inputs.map(() => new Float64Array(dOut));
    // Row by row over the whole batch: a large model's matrices are read once
    // per call, not once per vector (calibration is bound by that traffic).
    for (let i = 0; i < dOut; i++) {
      const row = i * dIn;
      const b = bias === undefined ? 0 : bias[i];
      for (let v = 0; v < inputs.length; v++) {
        const x = inputs[v];
        let s = b;
        for (let j = 0; j < dIn; j++) s += weight[row + j] * x[j];
        outputs[v][i] = s;
      }
    }
    return outputs;
  }
}
