import type { Logger } from 'pino';
import type { PrepareProgress } from './models/hosted-model.ts';

export type ModelPhase = PrepareProgress['phase'] | 'prepared';

/** What /readyz (503 while starting) and the logs say about a relay that is not ready yet. */
export interface StartupSnapshot {
  phase: 'preparing-models' | 'starting-workers' | 'ready' | 'draining';
  elapsedS: number;
  models: Record<string, { phase: ModelPhase; fraction: number; calibration?: 'cached' | 'calibrated' }>;
  workers: { ready: number; total: number };
}

/**
 * Start-up progress: a 100M-parameter model takes minutes to load and
 * calibrate, and an operator (or a readiness probe's log) should see how far
 * along it is rather than a bare 503. Logs each model's phase changes and
 * every quarter of its calibration.
 */
export class StartupProgress {
  readonly #logger: Logger;
  readonly #started = performance.now();
  readonly #models = new Map<string, StartupSnapshot['models'][string]>();
  #phase: StartupSnapshot['phase'] = 'preparing-models';
  #workers: () => { ready: number; total: number } = () => ({ ready: 0, total: 0 });

  constructor(logger: Logger, modelIds: readonly string[]) {
    this.#logger = logger;
    for (const id of modelIds) this.#models.set(id, { phase: 'loading', fraction: 0 });
  }

  model(id: string, progress: Pick<PrepareProgress, 'phase' | 'fraction'>): void {
    const before = this.#models.get(id);
    this.#models.set(id, { phase: progress.phase, fraction: progress.fraction });
    const quarter = (f: number) => Math.floor(f * 4);
    if (before?.phase !== progress.phase || quarter(before.fraction) !== quarter(progress.fraction)) {
      this.#logger.info({ model: id, phase: progress.phase, percent: Math.round(progress.fraction * 100), elapsedS: this.#elapsedS() }, 'preparing model');
    }
  }

  prepared(id: string, calibrationCached: boolean | undefined): void {
    this.#models.set(id, { phase: 'prepared', fraction: 1, calibration: calibrationCached ? 'cached' : 'calibrated' });
    this.#logger.info({ model: id, calibration: calibrationCached ? 'cached' : 'calibrated', elapsedS: this.#elapsedS() }, 'model prepared');
  }

  startingWorkers(workers: () => { ready: number; total: number }): void {
    this.#phase = 'starting-workers';
    this.#workers = workers;
    this.#logger.info({ workers: workers().total, elapsedS: this.#elapsedS() }, 'starting evaluation workers');
  }

  set phase(phase: 'ready' | 'draining') {
    this.#phase = phase;
  }

  snapshot(): StartupSnapshot {
    return { phase: this.#phase, elapsedS: this.#elapsedS(), models: Object.fromEntries(this.#models), workers: this.#workers() };
  }

  #elapsedS(): number {
    return Math.round((performance.now() - this.#started) / 100) / 10;
  }
}
