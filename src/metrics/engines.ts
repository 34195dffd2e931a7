import { Gauge, type Registry } from 'prom-client';
import { flinkTopicName, isCurrentOffset, isRawReader, recordsBehind, sourcePositions } from '../flink/gateway.js';

/*
 * Flink's and Kafka Connect's state as Prometheus gauges, read from their REST APIs when /metrics is scraped.
 * Every call has a short timeout and a failure only marks the engine down (rtrec_engine_up 0): a scrape never
 * fails or waits longer than the timeout because an engine is slow or gone. One probe serves every gauge of a
 * scrape, and its result is reused for `cacheMs`, so bursts of scrapes cost the engines one round; after the first
 * scrape, a snapshot older than that is served while the next one is fetched in the background.
 */

export interface EngineProbeOptions {
  /** The JobManager's REST API (FLINK_REST_URL). */
  flinkRestUrl: string;
  /** Kafka Connect's REST API (CONNECT_URL). */
  connectUrl: string;
  /** Per request (METRICS_ENGINE_TIMEOUT_MS). */
  timeoutMs: number;
  /** How long a probe's result is reused (default 1 s). */
  cacheMs?: number;
  /**
   * The Kafka topics' end offsets (`topic/partition` → high watermark) as this process last saw them (the CDC
   * bridge's fetches). With them a job's lag is measured from its sources' positions; without, from Kafka's
   * consumer metric `records-lag-max`, which stops updating while a source is back-pressured.
   */
  highWatermarks?: () => ReadonlyMap<string, number>;
}

interface FlinkJobFigures {
  name: string;
  state: string;
  restarts?: number;
  lag?: number;
}

interface EngineSnapshot {
  flink: { up: boolean; jobs: FlinkJobFigures[] };
  connect: { up: boolean; connectors: { name: string; state: string; tasks: { id: number; state: string }[] }[] };
}

/** A job's Kafka sources: which vertex reports which lag and position metrics (names never change for a job id). */
type SourceMetricNames = { vertex: string; lag: string[]; offsets: string[] }[];

async function getJson<T>(url: string, timeoutMs: number): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET ${url} → HTTP ${response.status}`);
  return (await response.json()) as T;
}

const ACTIVE = new Set(['RUNNING', 'CREATED', 'INITIALIZING', 'RESTARTING', 'FAILING', 'CANCELLING', 'RECONCILING']);

/** The probe of both engines (exported for tests); never rejects. */
export function createEngineProbe(options: EngineProbeOptions): () => Promise<EngineSnapshot> {
  const { flinkRestUrl, connectUrl, timeoutMs } = options;
  const cacheMs = options.cacheMs ?? 1000;
  const sourceNames = new Map<string, Promise<SourceMetricNames>>();
  let last: { at: number; snapshot: Promise<EngineSnapshot> } | undefined;

  const sourceMetricsOf = (jobId: string): Promise<SourceMetricNames> => {
    let names = sourceNames.get(jobId);
    if (!names) {
      names = (async () => {
        const job = await getJson<{ vertices: { id: string; name: string }[] }>(`${flinkRestUrl}/jobs/${jobId}`, timeoutMs);
        const sources = job.vertices.filter((v) => /Source/.test(v.name) && !isRawReader(v.name));
        return Promise.all(
          sources.map(async (v) => {
            const all = (await getJson<{ id: string }[]>(`${flinkRestUrl}/jobs/${jobId}/vertices/${v.id}/subtasks/metrics`, timeoutMs)).map((m) => m.id);
            return { vertex: v.id, lag: all.filter((n) => /records-lag-max$/.test(n)), offsets: all.filter(isCurrentOffset) };
          }),
        );
      })();
      // A failed lookup (job just starting, metrics not registered yet) is retried on the next scrape.
      names.then((found) => found.every((s) => s.lag.length > 0 && s.offsets.length > 0) || sourceNames.delete(jobId)).catch(() => sourceNames.delete(jobId));
      sourceNames.set(jobId, names);
    }
    return names;
  };

  /**
   * Records behind: end offsets − the sources' positions when every partition's end is known, else records-lag-max.
   * `ends`: `topic/partition` → end offset, the topic spelled as Flink's metric names spell it.
   */
  const jobLag = async (jobId: string, ends: ReadonlyMap<string, number>): Promise<number> => {
    let lagMax = 0;
    const positions: { id: string; max: number }[] = [];
    for (const source of await sourceMetricsOf(jobId)) {
      const wanted = [...source.lag, ...source.offsets];
      if (wanted.length === 0) continue;
      const values = await getJson<{ id: string; sum: number; max: number }[]>(
        `${flinkRestUrl}/jobs/${jobId}/vertices/${source.vertex}/subtasks/metrics?get=${wanted.map(encodeURIComponent).join(',')}&agg=sum,max`,
        timeoutMs,
      );
      for (const v of values) {
        if (isCurrentOffset(v.id)) positions.push(v);
        else lagMax += Number.isFinite(v.sum) ? Math.max(0, v.sum) : 0;
      }
    }
    const read = sourcePositions(positions);
    if (read.size === 0) return lagMax;
    return recordsBehind(read, (topic, partition) => ends.get(`${topic}/${partition}`)) ?? lagMax;
  };

  /** The bridge's high watermarks keyed as `sourcePositions` keys them (read once per probe, for every job). */
  const flinkEnds = (): Map<string, number> => {
    const ends = new Map<string, number>();
    for (const [key, end] of options.highWatermarks?.() ?? []) {
      const at = key.lastIndexOf('/');
      ends.set(`${flinkTopicName(key.slice(0, at))}${key.slice(at)}`, end);
    }
    return ends;
  };

  const jobFigures = async (job: { jid: string; name: string; state: string }, ends: ReadonlyMap<string, number>): Promise<FlinkJobFigures> => {
    const figures: FlinkJobFigures = { name: job.name, state: job.state };
    if (!ACTIVE.has(job.state)) return figures;
    const [restarts, lag] = await Promise.allSettled([
      getJson<{ id: string; value: string }[]>(`${flinkRestUrl}/jobs/${job.jid}/metrics?get=numRestarts`, timeoutMs),
      jobLag(job.jid, ends),
    ]);
    if (restarts.status === 'fulfilled') {
      const value = Number(restarts.value.find((m) => m.id === 'numRestarts')?.value);
      if (Number.isFinite(value)) figures.restarts = value;
    }
    if (lag.status === 'fulfilled') figures.lag = lag.value;
    return figures;
  };

  const flink = async (): Promise<EngineSnapshot['flink']> => {
    try {
      const { jobs } = await getJson<{ jobs: { jid: string; name: string; state: string; 'start-time': number }[] }>(
        `${flinkRestUrl}/jobs/overview`,
        timeoutMs,
      );
      // The newest run of each job name (a cancelled earlier run stays listed until the cluster restarts).
      const latest = new Map<string, (typeof jobs)[number]>();
      for (const job of [...jobs].sort((a, b) => a['start-time'] - b['start-time'])) {
        const seen = latest.get(job.name);
        if (!seen || ACTIVE.has(job.state) || !ACTIVE.has(seen.state)) latest.set(job.name, job);
      }
      const ends = flinkEnds();
      return { up: true, jobs: await Promise.all([...latest.values()].map((job) => jobFigures(job, ends))) };
    } catch {
      return { up: false, jobs: [] };
    }
  };

  const connect = async (): Promise<EngineSnapshot['connect']> => {
    try {
      const body = await getJson<Record<string, { status: { connector: { state: string }; tasks: { id: number; state: string }[] } }>>(
        `${connectUrl}/connectors?expand=status`,
        timeoutMs,
      );
      return {
        up: true,
        connectors: Object.entries(body).map(([name, { status }]) => ({ name, state: status.connector.state, tasks: status.tasks })),
      };
    } catch {
      return { up: false, connectors: [] };
    }
  };

  // Stale-while-revalidate: a scrape never waits for the engines' REST APIs (a busy JobManager answers the per-job
  // calls in tens of ms) except the very first one; an older snapshot is served while a new one is fetched.
  let refreshing: Promise<EngineSnapshot> | undefined;
  const refresh = () => {
    refreshing ??= Promise.all([flink(), connect()])
      .then(([f, c]) => ({ flink: f, connect: c }))
      .then((snapshot) => {
        last = { at: Date.now(), snapshot: Promise.resolve(snapshot) };
        return snapshot;
      })
      .finally(() => {
        refreshing = undefined;
      });
    return refreshing;
  };
  return () => {
    if (!last) return refresh();
    if (Date.now() - last.at > cacheMs) void refresh();
    return last.snapshot;
  };
}

/** Registers the engine gauges on `registry`; each reads the shared probe when scraped. */
export function registerEngineMetrics(registry: Registry, options: EngineProbeOptions): void {
  const probe = createEngineProbe(options);
  const registers = [registry];
  const jobLabel = (name: string) => name.replace(/^rtrec-/, '');
  new Gauge({
    name: 'rtrec_engine_up',
    help: 'Whether an engine answered its REST API at scrape time (1) or not (0), by engine (flink, connect).',
    labelNames: ['engine'],
    registers,
    async collect() {
      const snapshot = await probe();
      this.set({ engine: 'flink' }, snapshot.flink.up ? 1 : 0);
      this.set({ engine: 'connect' }, snapshot.connect.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'rtrec_flink_job_state',
    help: 'Each Flink job (newest run per name) with its state as a label: 1 for the current state.',
    labelNames: ['job', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const job of (await probe()).flink.jobs) this.set({ job: jobLabel(job.name), state: job.state }, 1);
    },
  });
  new Gauge({
    name: 'rtrec_flink_job_restarts',
    help: "Restarts of a running Flink job since it was submitted (Flink's numRestarts).",
    labelNames: ['job'],
    registers,
    async collect() {
      this.reset();
      for (const job of (await probe()).flink.jobs) if (job.restarts !== undefined) this.set({ job: jobLabel(job.name) }, job.restarts);
    },
  });
  new Gauge({
    name: 'rtrec_flink_job_lag_records',
    help: "Records a running Flink job's Kafka sources have not read yet: the topics' end offsets (as the CDC bridge last fetched them) minus the sources' positions; records-lag-max summed over the source subtasks when the bridge has not seen every topic the job reads.",
    labelNames: ['job'],
    registers,
    async collect() {
      this.reset();
      for (const job of (await probe()).flink.jobs) if (job.lag !== undefined) this.set({ job: jobLabel(job.name) }, job.lag);
    },
  });
  new Gauge({
    name: 'rtrec_connect_connector_state',
    help: 'Each Kafka Connect connector with its state as a label (RUNNING, PAUSED, FAILED, UNASSIGNED): 1 for the current state.',
    labelNames: ['connector', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const c of (await probe()).connect.connectors) this.set({ connector: c.name, state: c.state }, 1);
    },
  });
  new Gauge({
    name: 'rtrec_connect_task_state',
    help: 'Each connector task with its state as a label: 1 for the current state.',
    labelNames: ['connector', 'task', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const c of (await probe()).connect.connectors) for (const t of c.tasks) this.set({ connector: c.name, task: String(t.id), state: t.state }, 1);
    },
  });
}
