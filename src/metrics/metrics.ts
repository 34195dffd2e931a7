import { type DocumentNode, getOperationAST, Kind } from 'graphql';
import type pg from 'pg';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ChangeEvent } from '../cdc/envelope.js';
import type { BridgeObserver, BridgeReadiness } from '../kafka/bridge.js';
import type { LiveObserver } from '../recommend/live.js';
import type { SocketObserver } from '../server/websocket.js';
import { version } from '../version.js';
import { type EngineProbeOptions, registerEngineMetrics } from './engines.js';
import { exposition } from './exposition.js';

/*
 * The process's Prometheus metrics (prom-client), all named rtrec_*, next to prom-client's default process
 * and Node.js metrics. Each part of the system reports through a small observer interface it declares itself
 * (the bridge, the WebSocket layer, the live recommendations), so none of them imports prom-client; gauges
 * of things that already keep their own figures (the pg pool, the bridge's readiness, Flink, Connect) are
 * read at scrape time. Every label takes values from a bounded set: routes and operation names are capped.
 */

/** Latency buckets (seconds) for in-process work: requests, GraphQL operations, recommendation lists. */
const FAST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Commit → delivery crosses Debezium, Kafka and the bridge: tens of milliseconds to seconds. */
const PIPELINE_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Distinct GraphQL operation names kept as label values; later ones count as `other` (clients choose the names). */
export const MAX_OPERATION_NAMES = 200;

export interface MetricsOptions {
  /** The shared pool whose connections `rtrec_pg_pool_*` report. */
  pool?: pg.Pool;
  /** The bridge's own figures, read at scrape time (connected, received). */
  bridge?: () => BridgeReadiness | undefined;
  /** Flink's and Connect's REST APIs, probed at scrape time (omit to leave the engine metrics out). */
  engines?: EngineProbeOptions;
  /** Default process metrics (on unless false). */
  defaults?: boolean;
}

/** The operation's type and name as metric labels (an unnamed operation is `anonymous`). */
export function operationLabels(document: DocumentNode, operationName?: string | null): { type: string; name: string; field: string } {
  const operation = getOperationAST(document, operationName ?? undefined);
  const first = operation?.selectionSet.selections[0];
  return {
    type: operation?.operation ?? 'unknown',
    name: operation?.name?.value ?? operationName ?? 'anonymous',
    field: first?.kind === Kind.FIELD ? first.name.value : 'unknown',
  };
}

/** Builds the registry and the observers the composition root hands to each part. */
export function createMetrics(options: MetricsOptions = {}) {
  const registry = new Registry();
  if (options.defaults !== false) {
    collectDefaultMetrics({ register: registry });
    // It times one event-loop turn at every scrape (so a scrape waits for a busy loop); the nodejs_eventloop_lag_*
    // percentiles of the same lag, sampled continuously, stay.
    registry.removeSingleMetric('nodejs_eventloop_lag_seconds');
  }
  const registers = [registry];

  new Gauge({ name: 'rtrec_build_info', help: 'The running rtrec version (always 1).', labelNames: ['version'], registers }).set({ version }, 1);

  const httpRequests = new Counter({
    name: 'rtrec_http_requests_total',
    help: 'HTTP requests answered, by method, route and status code.',
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  const httpDuration = new Histogram({
    name: 'rtrec_http_request_duration_seconds',
    help: 'Time from a request to its response headers, by method and route (an SSE stream counts until it starts).',
    labelNames: ['method', 'route'],
    buckets: FAST_BUCKETS,
    registers,
  });
  const operations = new Counter({
    name: 'rtrec_graphql_operations_total',
    help: 'GraphQL operations executed (subscriptions: started), by type, operation name and outcome (ok, error).',
    labelNames: ['type', 'operation', 'outcome'],
    registers,
  });
  const operationDuration = new Histogram({
    name: 'rtrec_graphql_operation_duration_seconds',
    help: 'Execution time of GraphQL queries and mutations, by type and operation name.',
    labelNames: ['type', 'operation'],
    buckets: FAST_BUCKETS,
    registers,
  });
  const wsConnections = new Gauge({ name: 'rtrec_websocket_connections', help: 'Open graphql-ws WebSocket connections.', registers });
  const sseConnections = new Gauge({ name: 'rtrec_sse_connections', help: 'Open server-sent-event (SSE) subscription streams.', registers });
  const subscriptions = new Gauge({
    name: 'rtrec_subscriptions',
    help: 'Active GraphQL subscriptions, by root field and transport (ws, sse).',
    labelNames: ['field', 'transport'],
    registers,
  });
  const kafkaMessages = new Counter({
    name: 'rtrec_kafka_messages_total',
    help: 'Messages the CDC bridge consumed, by topic.',
    labelNames: ['topic'],
    registers,
  });
  const kafkaLag = new Gauge({
    name: 'rtrec_kafka_consumer_lag',
    help: "The bridge consumer's lag (messages behind the high watermark) per topic and partition, as of its last fetched batch.",
    labelNames: ['topic', 'partition'],
    registers,
  });
  const deliveryLatency = new Histogram({
    name: 'rtrec_cdc_commit_to_delivery_seconds',
    help: "Time from a change's commit in PostgreSQL (Debezium's source.ts_ms) to its delivery to the subscriptions, by table.",
    labelNames: ['table'],
    buckets: PIPELINE_BUCKETS,
    registers,
  });
  const deadLetters = new Counter({
    name: 'rtrec_kafka_dead_letters_total',
    help: 'Messages the bridge could not use and copied to the dead-letter topic, by source topic.',
    labelNames: ['topic'],
    registers,
  });
  const bridge = options.bridge;
  new Gauge({
    name: 'rtrec_kafka_bridge_connected',
    help: 'Whether the CDC bridge is in its consumer group (1) or reconnecting (0); absent when the bridge is off.',
    registers,
    collect() {
      this.reset();
      const state = bridge?.();
      if (state) this.set(state.connected ? 1 : 0);
    },
  });
  const recommendDuration = new Histogram({
    name: 'rtrec_recommendation_duration_seconds',
    help: "Time to compute a customer's recommendation list (cache misses only: a hit costs a map lookup).",
    buckets: FAST_BUCKETS,
    registers,
  });
  const cacheLookups = new Counter({
    name: 'rtrec_recommendation_cache_lookups_total',
    help: 'Recommendation list lookups, by result (hit, miss).',
    labelNames: ['result'],
    registers,
  });
  new Gauge({
    name: 'rtrec_recommendation_cache_hit_ratio',
    help: 'Share of recommendation lookups served from the cache since the process started (rate() of the lookups counter gives it per window).',
    registers,
    async collect() {
      const values = (await cacheLookups.get()).values;
      const hits = values.find((v) => v.labels.result === 'hit')?.value ?? 0;
      const total = values.reduce((sum, v) => sum + v.value, 0);
      this.set(total > 0 ? hits / total : 0);
    },
  });
  const pushes = new Counter({
    name: 'rtrec_recommendation_pushes_total',
    help: 'New recommendation lists pushed to recommendationsUpdated subscribers (one per subscriber and list).',
    registers,
  });
  const pool = options.pool;
  if (pool) {
    new Gauge({
      name: 'rtrec_pg_pool_connections',
      help: "Connections of the API's shared PostgreSQL pool, by state (active, idle).",
      labelNames: ['state'],
      registers,
      collect() {
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'active' }, pool.totalCount - pool.idleCount);
      },
    });
    new Gauge({
      name: 'rtrec_pg_pool_waiting_requests',
      help: 'Queries waiting for a connection of the shared pool.',
      registers,
      collect() {
        this.set(pool.waitingCount);
      },
    });
    new Gauge({ name: 'rtrec_pg_pool_max_connections', help: 'Size limit of the shared pool.', registers }).set(pool.options.max ?? 10);
  }
  // The CDC topics' end offsets as the bridge last fetched them: Flink's job lag is measured against them.
  const highWatermarks = new Map<string, number>();
  if (options.engines) registerEngineMetrics(registry, { highWatermarks: () => highWatermarks, ...options.engines });

  // Label children per label values: a request then costs two map lookups, not prom-client's label hashing.
  const httpChildren = new Map<string, { count: Counter.Internal; duration: Histogram.Internal<string> }>();
  const operationChildren = new Map<string, { count: Counter.Internal; duration: Histogram.Internal<string> }>();
  /** The labels of a parsed document (yoga reuses the DocumentNode of a repeated query string). */
  const labelsByDocument = new WeakMap<DocumentNode, Map<string, ReturnType<typeof operationLabels>>>();
  const labelsOf = (document: DocumentNode, name: string | null | undefined) => {
    let byName = labelsByDocument.get(document);
    if (!byName) labelsByDocument.set(document, (byName = new Map()));
    let labels = byName.get(name ?? '');
    if (!labels) byName.set(name ?? '', (labels = operationLabels(document, name)));
    return labels;
  };
  const names = new Set<string>();
  /** The operation name as a label: the first MAX_OPERATION_NAMES distinct names, then `other`. */
  const operationName = (name: string) => {
    if (names.has(name)) return name;
    if (names.size >= MAX_OPERATION_NAMES) return 'other';
    names.add(name);
    return name;
  };

  const sockets: SocketObserver = {
    connectionOpened: () => wsConnections.inc(),
    connectionClosed: () => wsConnections.dec(),
    subscriptionStarted(document, name) {
      const { field } = labelsOf(document, name);
      subscriptions.inc({ field, transport: 'ws' });
      return () => subscriptions.dec({ field, transport: 'ws' });
    },
  };

  const bridgeObserver: BridgeObserver = {
    message: (topic) => kafkaMessages.inc({ topic }),
    delivered: (event: ChangeEvent) => deliveryLatency.observe({ table: event.table }, Math.max(0, Date.now() - event.committedAt.getTime()) / 1000),
    deadLettered: (topic) => deadLetters.inc({ topic }),
    lag: (topic, partition, lag, highWatermark) => {
      kafkaLag.set({ topic, partition: String(partition) }, lag);
      if (Number.isFinite(highWatermark)) highWatermarks.set(`${topic}/${partition}`, highWatermark);
    },
  };

  const recommendations: LiveObserver = {
    lookup: (hit) => cacheLookups.inc({ result: hit ? 'hit' : 'miss' }),
    computed: (seconds) => recommendDuration.observe(seconds),
    pushed: () => pushes.inc(),
  };

  return {
    registry,
    /** The text exposition of every metric (engine probes included, each bounded by its timeout); see exposition.ts. */
    scrape: () => exposition(registry),
    contentType: registry.contentType,
    http: {
      observe(method: string, route: string, status: number, seconds: number): void {
        const key = `${method} ${route} ${status}`;
        let child = httpChildren.get(key);
        if (!child) {
          child = { count: httpRequests.labels({ method, route, status: String(status) }), duration: httpDuration.labels({ method, route }) };
          httpChildren.set(key, child);
        }
        child.count.inc();
        child.duration.observe(seconds);
      },
    },
    graphql: {
      /** An operation finished (or, for a subscription, started). */
      operation(document: DocumentNode, name: string | null | undefined, outcome: 'ok' | 'error', seconds?: number): void {
        const labels = labelsOf(document, name);
        const operation = operationName(labels.name);
        const key = `${labels.type} ${operation} ${outcome}`;
        let child = operationChildren.get(key);
        if (!child) {
          child = { count: operations.labels({ type: labels.type, operation, outcome }), duration: operationDuration.labels({ type: labels.type, operation }) };
          operationChildren.set(key, child);
        }
        child.count.inc();
        if (seconds !== undefined) child.duration.observe(seconds);
      },
      /** An SSE subscription stream opened; returns its end. */
      sseStarted(document: DocumentNode, name: string | null | undefined): () => void {
        const { field } = labelsOf(document, name);
        sseConnections.inc();
        subscriptions.inc({ field, transport: 'sse' });
        return () => {
          sseConnections.dec();
          subscriptions.dec({ field, transport: 'sse' });
        };
      },
    },
    sockets,
    bridge: bridgeObserver,
    recommendations,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
