import { AppError } from '../errors.js';
import { type SimulationDeps, type SimulationParams, type SimulationSummary, type StartedSimulation, startSimulation } from './runs.js';

/** Keeps the simulations this process runs, so they can be cancelled and drained on shutdown. */
export function createSimulationService(deps: SimulationDeps) {
  const running = new Map<string, StartedSimulation>();
  let stopping = false;
  /** Cancels every run and waits for each to record its final status. */
  const cancelAll = async (): Promise<void> => {
    const all = [...running.values()];
    for (const run of all) run.cancel();
    await Promise.allSettled(all.map((r) => r.done));
  };
  return {
    /** Starts a run in the background and returns its id at once; `onDone` follows a run that finished by itself. */
    async start(params: SimulationParams, onDone?: (summary: SimulationSummary) => void): Promise<string> {
      if (stopping) throw new AppError('CONFLICT', 'The server is shutting down; no new simulations are started.');
      const started = await startSimulation(deps, params);
      running.set(started.runId, started);
      started.done
        .then((summary) => {
          if (!stopping) onDone?.(summary);
        })
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
    cancelAll,
    /** For shutdown: cancels every run and refuses new ones from then on. */
    async shutdown(): Promise<void> {
      stopping = true;
      await cancelAll();
    },
  };
}

export type SimulationService = ReturnType<typeof createSimulationService>;
