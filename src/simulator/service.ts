import { AppError } from '../errors.js';
import { type SimulationDeps, type SimulationParams, type SimulationSummary, type StartedSimulation, startSimulation } from './runs.js';

/** Keeps the simulations this process runs, so they can be cancelled and drained on shutdown. */
export function createSimulationService(deps: SimulationDeps) {
  const running = new Map<string, StartedSimulation>();
  return {
    /** Starts a run in the background and returns its id at once. */
    async start(params: SimulationParams, onDone?: (summary: SimulationSummary) => void): Promise<string> {
      const started = await startSimulation(deps, params);
      running.set(started.runId, started);
      started.done
        .then((summary) => onDone?.(summary))
        .catch(() => undefined)
        .finally(() => running.delete(started.runId));
      return started.runId;
    },
    cancel(runId: string): void {
      const run = running.get(runId);
      if (!run) throw new AppError('NOT_FOUND', `Simulation ${runId} is not running in this server. Query simulationRuns for its status.`, { runId });
      run.cancel();
    },
    async wait(runId: string): Promise<SimulationSummary | undefined> {
      return running.get(runId)?.done;
    },
    /** Cancels every run and waits for each to record its final status. */
    async stopAll(): Promise<void> {
      const all = [...running.values()];
      for (const run of all) run.cancel();
      await Promise.allSettled(all.map((r) => r.done));
    },
  };
}

export type SimulationService = ReturnType<typeof createSimulationService>;
