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
    return inputs.map((x) => {
      if (x.length !== dIn) throw new RangeError(`step ${step.id}: input has ${x.length} values, expected ${dIn}`);
      const y = new Float64Array(dOut);
      for (let i = 0; i < dOut; i++) {
        const row = i * dIn;
        let s = bias === undefined ? 0 : bias[i];
        for (let j = 0; j < dIn; j++) s += weight[row + j] * x[j];
        y[i] = s;
      }
      return y;
    });
  }
}
