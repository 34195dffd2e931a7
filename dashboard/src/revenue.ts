import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { PanelContext } from './context.js';
import { messageOf } from './context.js';
import { body, clock, fill, formatMoney, h } from './dom.js';
import { REVENUE_STATS, REVENUE_UPDATED } from './operations.js';

interface RevenueStat {
  windowStart: string;
  windowEnd: string;
  windowSeconds: number;
  revenue: string;
  orderCount: number;
  avgOrderValue: string;
}

/** Windows on the chart. */
const KEEP = 60;

/**
 * Revenue of each closed window of the revenue-statistics Flink job (revenueStats, then revenueUpdated as each
 * window closes), as a uPlot chart of revenue and order count. The window length is the job's
 * (REVENUE_WINDOW_SECONDS): the one of the newest window.
 */
export function mountRevenue(section: HTMLElement, { api }: PanelContext): void {
  const summary = h('p', { class: 'muted', id: 'revenue-summary' }, 'Loading…');
  const errors = h('p', { class: 'error', role: 'alert' });
  const holder = h('div', { class: 'chart' });
  fill(body(section), summary, errors, holder);

  const windows = new Map<string, RevenueStat>();
  let windowSeconds: number | undefined;
  let chart: uPlot | undefined;

  const draw = () => {
    const stats = [...windows.values()].filter((s) => s.windowSeconds === windowSeconds).sort((a, b) => Date.parse(a.windowStart) - Date.parse(b.windowStart));
    for (const old of stats.slice(0, Math.max(0, stats.length - KEEP))) windows.delete(old.windowStart + old.windowSeconds);
    const shown = stats.slice(-KEEP);
    const latest = shown.at(-1);
    if (!latest) {
      summary.textContent =
        'No closed revenue window yet: the revenue-statistics Flink job writes one as each window closes (npm start deploys it; --no-cdc runs no Flink job).';
      return;
    }
    summary.textContent = `${windowSeconds} s windows · latest ${clock(latest.windowStart)}–${clock(latest.windowEnd)}: ${formatMoney(latest.revenue)} from ${latest.orderCount} orders (average ${formatMoney(latest.avgOrderValue)})`;
    const data: uPlot.AlignedData = [shown.map((s) => Date.parse(s.windowStart) / 1000), shown.map((s) => Number(s.revenue)), shown.map((s) => s.orderCount)];
    if (!chart) {
      chart = new uPlot(
        {
          width: Math.max(300, holder.clientWidth || 480),
          height: 220,
          series: [
            {},
            { label: 'revenue', stroke: '#2563eb', fill: 'rgba(37, 99, 235, 0.15)', value: (_u, v) => (v == null ? '' : formatMoney(v)) },
            { label: 'orders', stroke: '#d97706', scale: 'orders' },
          ],
          axes: [{}, { label: 'revenue' }, { side: 1, scale: 'orders', label: 'orders', grid: { show: false } }],
          scales: { x: { time: true } },
        },
        data,
        holder,
      );
      new ResizeObserver(() => chart?.setSize({ width: Math.max(300, holder.clientWidth), height: 220 })).observe(holder);
    } else chart.setData(data);
  };

  const add = (stat: RevenueStat) => {
    windowSeconds ??= stat.windowSeconds;
    windows.set(stat.windowStart + stat.windowSeconds, stat);
  };

  api
    .request<{ revenueStats: { edges: { node: RevenueStat }[] } }>(REVENUE_STATS, {})
    .then(({ revenueStats }) => {
      // Newest first: the newest window's length is the one charted.
      for (const { node } of revenueStats.edges) add(node);
      draw();
    })
    .catch((error) => (errors.textContent = messageOf(error)));
  api.subscribe<{ revenueUpdated: RevenueStat }>(
    REVENUE_UPDATED,
    {},
    ({ revenueUpdated }) => {
      add(revenueUpdated);
      draw();
    },
    (error) => (errors.textContent = messageOf(error)),
  );
}
