/** One sample of Prometheus' text format: `name{label="value",…} number`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of a /metrics page whose names are in `names` (comments and other metrics skipped). */
export function parseSamples(text: string, names: ReadonlySet<string>): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m || !names.has(m[1]!)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

export interface EngineHealth {
  flink?: { up: boolean; jobs: { name: string; state: string; restarts?: number; lag?: number }[] };
  connect?: { up: boolean; connectors: { name: string; state: string; tasks: { id: string; state: string }[] }[] };
  /** Whether the Kafka bridge's consumer is in its group; undefined when the server runs without CDC. */
  bridge?: boolean;
  websockets?: number;
}

export const ENGINE_METRICS = new Set([
  'rtrec_engine_up',
  'rtrec_flink_job_state',
  'rtrec_flink_job_restarts',
  'rtrec_flink_job_lag_records',
  'rtrec_connect_connector_state',
  'rtrec_connect_task_state',
  'rtrec_kafka_bridge_connected',
  'rtrec_websocket_connections',
]);

/** The engines' state as /metrics reports it (src/metrics/engines.ts probes Flink and Connect at scrape time). */
export function engineHealth(text: string): EngineHealth {
  const samples = parseSamples(text, ENGINE_METRICS);
  const of = (name: string) => samples.filter((s) => s.name === name);
  const health: EngineHealth = {};
  for (const s of of('rtrec_engine_up')) {
    if (s.labels.engine === 'flink') health.flink = { up: s.value === 1, jobs: [] };
    if (s.labels.engine === 'connect') health.connect = { up: s.value === 1, connectors: [] };
  }
  const jobs = new Map<string, { name: string; state: string; restarts?: number; lag?: number }>();
  const job = (name: string) => jobs.get(name) ?? jobs.set(name, { name, state: 'UNKNOWN' }).get(name)!;
  for (const s of of('rtrec_flink_job_state')) if (s.value === 1) job(s.labels.job!).state = s.labels.state!;
  for (const s of of('rtrec_flink_job_restarts')) job(s.labels.job!).restarts = s.value;
  for (const s of of('rtrec_flink_job_lag_records')) job(s.labels.job!).lag = s.value;
  if (health.flink) health.flink.jobs = [...jobs.values()].sort((a, b) => a.name.localeCompare(b.name));
  const connectors = new Map<string, { name: string; state: string; tasks: { id: string; state: string }[] }>();
  const connector = (name: string) => connectors.get(name) ?? connectors.set(name, { name, state: 'UNKNOWN', tasks: [] }).get(name)!;
  for (const s of of('rtrec_connect_connector_state')) if (s.value === 1) connector(s.labels.connector!).state = s.labels.state!;
  for (const s of of('rtrec_connect_task_state')) if (s.value === 1) connector(s.labels.connector!).tasks.push({ id: s.labels.task!, state: s.labels.state! });
  if (health.connect) health.connect.connectors = [...connectors.values()];
  const bridge = of('rtrec_kafka_bridge_connected')[0];
  if (bridge) health.bridge = bridge.value === 1;
  const sockets = of('rtrec_websocket_connections')[0];
  if (sockets) health.websockets = sockets.value;
  return health;
}
