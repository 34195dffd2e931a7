import type { PanelContext } from './context.js';
import { messageOf } from './context.js';
import { body, clock, fill, h, headRow } from './dom.js';
import { CHANGE_TABLES, type ChangeTable, TABLE_CHANGED } from './operations.js';

interface TableChange {
  table: ChangeTable;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'SNAPSHOT';
  committedAt: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

/** Rows kept on screen; older ones are dropped. */
const MAX_ROWS = 100;
/** Latencies the percentiles are taken over. */
const WINDOW = 500;

const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));

/** A few words about the row (its key is in a column of its own). */
function summary(change: TableChange): string {
  const row = change.after ?? change.before ?? {};
  switch (change.table) {
    case 'behavior_events':
      return `${str(row.eventType)} · customer ${str(row.customerId)}${row.productId != null ? ` · product ${str(row.productId)}` : ''}`;
    case 'orders':
      return `${str(row.status)} · ${str(row.totalPrice)} · customer ${str(row.customerId)}`;
    case 'order_items':
      return `order ${str(row.orderId)} · product ${str(row.productId)} × ${str(row.quantity)}`;
    case 'carts':
    case 'wishlists':
      return `customer ${str(row.customerId)} · product ${str(row.productId)}${row.quantity != null ? ` × ${str(row.quantity)}` : ''}`;
    case 'payments':
      return `${str(row.paymentMethod)} · ${str(row.status)} · ${str(row.amount)}`;
    case 'shipments':
      return `order ${str(row.orderId)} · ${str(row.status)}`;
    case 'products':
      return `${str(row.name)} · ${str(row.price)} · stock ${str(row.stock)}`;
    case 'customers':
      return `${str(row.firstName)} ${str(row.lastName)}`.trim();
    case 'categories':
      return str(row.name);
    case 'experiments':
      return `${str(row.name)} · ${str(row.placement)} · ${str(row.status)}`;
    case 'experiment_variants':
      return `experiment ${str(row.experimentId)} · ${str(row.name)} · ${str(row.recommender)} × ${str(row.weight)}`;
    case 'experiment_assignments':
      return `experiment ${str(row.experimentId)} · customer ${str(row.customerId)} → variant ${str(row.variantId)}`;
    case 'merchandising_rules':
      return `${str(row.name)} · ${str(row.action)}`;
  }
}

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : Number.NaN);

/**
 * Every captured table's changes as they arrive (one tableChanged subscription per table on the shared
 * connection), newest first, with each change's latency from its commit in PostgreSQL to the moment it is
 * put on screen (this browser's clock against the commit timestamp; the same clock on one machine).
 * Changes are drawn once per animation frame, so a busy stream costs one layout per frame.
 */
export function mountChanges(section: HTMLElement, { api }: PanelContext): void {
  const filter = h(
    'select',
    { 'aria-label': 'table', id: 'changes-table' },
    h('option', { value: '' }, 'all tables'),
    ...Object.keys(CHANGE_TABLES).map((t) => h('option', { value: t }, t)),
  );
  const pause = h('button', { type: 'button', id: 'changes-pause' }, 'Pause');
  const stats = h('p', { class: 'muted', id: 'changes-stats' }, 'Waiting for changes…');
  const errors = h('p', { class: 'error', role: 'alert' });
  const rows = h('tbody', { id: 'changes-rows' });
  const table = h('table', { class: 'changes' }, headRow('committed', 'table', 'operation', 'key', 'row', '#latency ms'), rows);
  fill(body(section), h('div', { class: 'row' }, filter, pause), stats, errors, h('div', { class: 'scroll' }, table));

  let paused = false;
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
  });
  let pending: TableChange[] = [];
  let scheduled = false;
  const latencies: number[] = [];
  const arrivals: number[] = [];
  let total = 0;

  const draw = () => {
    scheduled = false;
    const batch = pending;
    pending = [];
    const now = Date.now();
    const shown = filter.value;
    const fragment = document.createDocumentFragment();
    // Newest first: the batch arrived oldest first.
    for (let i = batch.length - 1; i >= 0; i--) {
      const change = batch[i]!;
      const latency = now - Date.parse(change.committedAt);
      latencies.push(latency);
      if (shown && change.table !== shown) continue;
      const key = str((change.after ?? change.before)?.[CHANGE_TABLES[change.table]]);
      fragment.appendChild(
        h(
          'tr',
          { 'data-table': change.table, 'data-key': key, 'data-operation': change.operation, 'data-committed': change.committedAt, 'data-latency': latency },
          h('td', {}, clock(change.committedAt)),
          h('td', {}, change.table),
          h('td', { class: `op op-${change.operation.toLowerCase()}` }, change.operation),
          h('td', { class: 'num' }, key),
          h('td', {}, summary(change)),
          h('td', { class: 'num' }, latency),
        ),
      );
    }
    if (latencies.length > WINDOW) latencies.splice(0, latencies.length - WINDOW);
    rows.insertBefore(fragment, rows.firstChild);
    while (rows.childElementCount > MAX_ROWS) rows.lastElementChild!.remove();
    const sorted = [...latencies].sort((a, b) => a - b);
    while (arrivals.length && arrivals[0]! < now - 10_000) arrivals.shift();
    stats.textContent = `${total.toLocaleString()} changes · ${(arrivals.length / 10).toFixed(1)}/s over 10 s · commit → screen p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms (last ${sorted.length})`;
  };

  for (const name of Object.keys(CHANGE_TABLES) as ChangeTable[]) {
    api.subscribe<{ tableChanged: TableChange }>(
      TABLE_CHANGED,
      { table: name },
      ({ tableChanged }) => {
        total++;
        arrivals.push(Date.now());
        if (paused) return;
        pending.push(tableChanged);
        // A hidden tab draws no frames: keep only what would be shown.
        if (pending.length > MAX_ROWS) pending.splice(0, pending.length - MAX_ROWS);
        if (!scheduled) {
          scheduled = true;
          requestAnimationFrame(draw);
        }
      },
      (error) => {
        errors.textContent = `${name}: ${messageOf(error)}`;
      },
    );
  }
}
