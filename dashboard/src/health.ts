import type { PanelContext } from './context.js';
import { every, messageOf } from './context.js';
import { body, clock, fill, h } from './dom.js';
import { type EngineHealth, engineHealth } from './prometheus.js';

const GOOD = new Set(['RUNNING', 'up', 'connected']);

const badge = (label: string, state: string, detail?: string) =>
  h(
    'li',
    { class: 'health-item', 'data-engine': label, 'data-state': GOOD.has(state) ? 'good' : 'bad' },
    h('strong', {}, label),
    ' ',
    h('span', { class: 'state' }, state),
    detail ? ` — ${detail}` : '',
  );

/**
 * The database (/health, which queries it) and the engines as /metrics reports them: Kafka Connect's connectors and
 * tasks, every Flink job with its restarts and Kafka lag, and the API's Kafka bridge. Polled every 5 s.
 */
export function mountHealth(section: HTMLElement, { api }: PanelContext): void {
  const list = h('ul', { class: 'health' });
  const note = h('p', { class: 'muted' });
  fill(body(section), list, note);
  every(5000, async () => {
    const items: HTMLElement[] = [];
    try {
      const response = await fetch('/health');
      const health = (await response.json()) as { database?: string; latencyMs?: number };
      items.push(badge('PostgreSQL', health.database ?? 'down', health.latencyMs !== undefined ? `${health.latencyMs} ms` : undefined));
    } catch (error) {
      items.push(badge('API', 'down', messageOf(error)));
    }
    let engines: EngineHealth | undefined;
    let problem = '';
    try {
      const response = await api.get('/metrics');
      if (response.ok) engines = engineHealth(await response.text());
      else if (response.status === 403) problem = 'Engine state needs an admin or analyst token (/metrics).';
      else problem = `/metrics answered HTTP ${response.status}.`;
    } catch (error) {
      problem = messageOf(error);
    }
    if (engines) {
      items.push(
        badge(
          'Kafka bridge',
          engines.bridge ? 'connected' : 'not connected',
          // The gauge reads 0 both while the consumer reconnects and when the server runs without it.
          engines.bridge ? undefined : 'no change reaches the stream without it (`npm start` starts it; `--no-cdc` does not)',
        ),
      );
      const connect = engines.connect;
      items.push(badge('Kafka Connect', connect?.up ? 'up' : 'down'));
      for (const c of connect?.connectors ?? []) items.push(badge(`connector ${c.name}`, c.state, c.tasks.map((t) => `task ${t.id} ${t.state}`).join(', ')));
      const flink = engines.flink;
      items.push(badge('Flink', flink?.up ? 'up' : 'down'));
      for (const job of flink?.jobs ?? [])
        items.push(
          badge(
            `job ${job.name}`,
            job.state,
            [job.restarts !== undefined && `${job.restarts} restarts`, job.lag !== undefined && `lag ${job.lag}`].filter(Boolean).join(', '),
          ),
        );
    }
    fill(list, ...items);
    note.textContent = `${problem ? `${problem} ` : ''}Checked ${clock(Date.now())}.`;
  });
}
