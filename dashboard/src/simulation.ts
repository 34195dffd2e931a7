import { SIMULATION_DEFAULTS, SIMULATION_LIMITS } from '../../src/simulator/options.js';
import type { PanelContext } from './context.js';
import { every, messageOf } from './context.js';
import { body, clock, fill, h, headRow } from './dom.js';
import { CANCEL_SIMULATION, SIMULATE, SIMULATION_RUNS } from './operations.js';

interface Run {
  id: string;
  mode: string;
  status: string;
  progress: number;
  sessionsDone: number;
  sessionsTotal: number;
  eventsWritten: number;
  params: { recommender?: string; speed?: number } | null;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}

interface Field {
  name: string;
  label: string;
  min: number;
  max: number;
  value: number;
  integer: boolean;
}

const FIELDS: Field[] = [
  { name: 'sessions', label: 'sessions', min: 1, max: SIMULATION_LIMITS.sessions, value: 50, integer: true },
  {
    name: 'durationMinutes',
    label: 'minutes each',
    min: 0,
    max: SIMULATION_LIMITS.durationMinutes,
    value: SIMULATION_DEFAULTS.durationMinutes,
    integer: false,
  },
  { name: 'speed', label: 'speed ×', min: 0.01, max: SIMULATION_LIMITS.speed, value: 30, integer: false },
  {
    name: 'recommendations',
    label: 'recommendations',
    min: 0,
    max: SIMULATION_LIMITS.recommendations,
    value: SIMULATION_DEFAULTS.recommendations,
    integer: true,
  },
];

/** A field's number, or a message that says what to enter. */
function readField(field: Field, input: HTMLInputElement): number | string {
  const value = Number(input.value);
  if (input.value.trim() === '' || !Number.isFinite(value)) return `${field.label}: enter a number.`;
  if (field.integer && !Number.isInteger(value)) return `${field.label}: enter a whole number.`;
  if (value < field.min || value > field.max) return `${field.label}: enter ${field.min} to ${field.max.toLocaleString()}.`;
  return value;
}

/**
 * Starts live simulations (`simulate`) and stops running ones (`cancelSimulation`); lists the latest runs with
 * their progress, polled every 2 s. Starting needs an admin token; the server checks every value again.
 */
export function mountSimulation(section: HTMLElement, { api }: PanelContext): void {
  const inputs = new Map(
    FIELDS.map((f) => [
      f,
      h('input', { type: 'number', name: f.name, id: `sim-${f.name}`, min: f.min, max: f.max, step: f.integer ? 1 : 'any', value: f.value }),
    ]),
  );
  const recommender = h(
    'select',
    { id: 'sim-recommender', name: 'recommender' },
    h('option', { value: 'OURS' }, 'ours'),
    h('option', { value: 'RANDOM' }, 'random (baseline)'),
  );
  const start = h('button', { type: 'button', id: 'sim-start' }, 'Start simulation');
  const message = h('p', { class: 'muted', id: 'sim-message', role: 'status' });
  const rows = h('tbody', { id: 'sim-runs' });
  fill(
    body(section),
    h('div', { class: 'form' }, ...[...inputs].map(([f, input]) => h('label', {}, f.label, input)), h('label', {}, 'recommender', recommender), start),
    message,
    h('table', {}, headRow('started', 'status', 'progress', '#events', 'recommender', ''), rows),
  );

  const refresh = async () => {
    try {
      const { simulationRuns } = await api.request<{ simulationRuns: { edges: { node: Run }[] } }>(SIMULATION_RUNS, { first: 6 });
      fill(
        rows,
        ...simulationRuns.edges.map(({ node: run }) =>
          h(
            'tr',
            { 'data-run': run.id, 'data-status': run.status },
            h('td', {}, clock(run.startedAt)),
            h('td', { title: run.error ?? '' }, run.status),
            h(
              'td',
              {},
              h('progress', { max: 1, value: run.progress }),
              run.sessionsTotal > 0 ? ` ${run.sessionsDone}/${run.sessionsTotal} sessions` : ` ${run.sessionsDone} sessions`,
            ),
            h('td', { class: 'num' }, run.eventsWritten.toLocaleString()),
            h('td', {}, run.mode === 'live' ? (run.params?.recommender ?? '') : run.mode),
            h('td', {}, run.status === 'running' ? h('button', { type: 'button', class: 'stop', onclick: () => void stop(run.id) }, 'Stop') : ''),
          ),
        ),
      );
    } catch (error) {
      message.textContent = messageOf(error);
    }
  };

  const stop = async (id: string) => {
    message.textContent = 'Stopping…';
    try {
      const { cancelSimulation } = await api.request<{ cancelSimulation: { id: string; status: string } }>(CANCEL_SIMULATION, { id });
      message.textContent = `Simulation ${cancelSimulation.id.slice(0, 8)} ${cancelSimulation.status}.`;
    } catch (error) {
      message.textContent = messageOf(error);
    }
    await refresh();
  };

  start.addEventListener('click', async () => {
    const variables: Record<string, unknown> = { recommender: recommender.value };
    for (const [field, input] of inputs) {
      const value = readField(field, input);
      if (typeof value === 'string') {
        message.textContent = value;
        input.focus();
        return;
      }
      variables[field.name] = value;
    }
    start.disabled = true;
    try {
      const { simulate } = await api.request<{ simulate: { id: string; status: string } }>(SIMULATE, variables);
      message.textContent = `Simulation ${simulate.id.slice(0, 8)} ${simulate.status}.`;
    } catch (error) {
      message.textContent = messageOf(error);
    } finally {
      start.disabled = false;
    }
    await refresh();
  });
  every(2000, refresh);
}
