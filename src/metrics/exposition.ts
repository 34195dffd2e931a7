import { type MetricObjectWithValues, type MetricValue, Registry } from 'prom-client';

/*
 * The Prometheus text exposition (format 0.0.4) of a prom-client registry: the text `registry.metrics()` writes,
 * with fewer allocations. prom-client keeps every metric, its labels and values and runs the collectors; only the
 * writing of the text is ours. Why: prom-client 15.1.3's writer gives every sample a new empty `sharedLabels`
 * object and caches its formatting in a WeakMap, so each scrape adds a WeakMap entry per sample (~170 here),
 * and allocates ~250 KB in all. The young generation then fills every 60–110 scrapes and its collections,
 * slowed by those WeakMap entries, took 2–5 ms: that was the p99 of a scrape (bench/RESULTS.md). Upstream fixed
 * it after 15.1.3 (prometheus/client_js #804, not released yet); drop this file for `registry.metrics()` then.
 *
 * Output is byte-identical to `registry.metrics()` (tests/unit/metrics-exposition.test.ts) except that a NaN
 * value is written `NaN`, as the format specifies (prom-client writes `Nan`).
 */

type Value = MetricValue<string> & { sharedLabels?: Record<string, string | number>; metricName?: string };
type Collected = MetricObjectWithValues<Value>;
interface Collectable {
  get(): Promise<Collected> | Collected;
  getForPromString?(): Promise<Collected> | Collected;
}

const escapeText = (text: string) => (text.includes('\\') || text.includes('\n') ? text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : text);
const escapeLabelValue = (value: unknown) => (typeof value === 'string' ? escapeText(value).replace(/"/g, '\\"') : String(value));

function valueText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

/** A histogram's labels, shared by its bucket, sum and count lines: kept objects, so formatted once. */
const sharedText = new WeakMap<object, string>();
function formatShared(labels: Record<string, string | number>): string {
  let text = sharedText.get(labels);
  if (text === undefined) {
    text = '';
    for (const name in labels) text += `${text ? ',' : ''}${name}="${escapeLabelValue(labels[name])}"`;
    sharedText.set(labels, text);
  }
  return text;
}

/** HELP and TYPE of a metric, by its name, help and type (unchanged from scrape to scrape). */
const headers = new Map<string, string>();
function header(metric: Collected): string {
  const key = `${metric.name}\u0000${metric.type}\u0000${metric.help}`;
  let text = headers.get(key);
  if (text === undefined) {
    const name = escapeText(metric.name);
    text = `# HELP ${name} ${escapeText(metric.help)}\n# TYPE ${name} ${metric.type}`;
    headers.set(key, text);
  }
  return text;
}

function block(metric: Collected): string {
  let text = header(metric);
  const name = escapeText(metric.name);
  for (const value of metric.values ?? []) {
    const shared = value.sharedLabels;
    let labels = '';
    for (const label in value.labels) {
      if (shared && Object.hasOwn(shared, label)) continue;
      labels += `${labels ? ',' : ''}${label}="${escapeLabelValue(value.labels[label])}"`;
    }
    if (shared) {
      const flat = formatShared(shared);
      if (flat) labels += `${labels ? ',' : ''}${flat}`;
    }
    text += `\n${value.metricName ?? name}${labels ? `{${labels}}` : ''} ${valueText(value.value)}`;
  }
  return text;
}

/** What `registry.metrics()` returns, for a registry of the Prometheus content type without default labels. */
export async function exposition(registry: Registry): Promise<string> {
  if (registry.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) return registry.metrics();
  const metrics = registry.getMetricsAsArray() as unknown as Collectable[];
  const collected = await Promise.all(metrics.map((m) => (typeof m.getForPromString === 'function' ? m.getForPromString() : m.get())));
  let text = '';
  for (let i = 0; i < collected.length; i++) text += (i ? '\n\n' : '') + block(collected[i]!);
  return `${text}\n`;
}
