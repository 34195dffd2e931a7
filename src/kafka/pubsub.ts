import { createPubSub } from 'graphql-yoga';
import type { ChangeEvent } from '../cdc/envelope.js';
import type { CdcTable } from '../cdc/tables.js';
import type { ResultKind, StreamResult } from '../flink/results.js';

type Channels = { [K in `change:${CdcTable}`]: [ChangeEvent] } & { [K in `result:${ResultKind}`]: [StreamResult] } & { experiment: [number] };

/**
 * The in-process pubsub the CDC bridge publishes to and subscriptions read from (yoga's pluggable
 * event target; resolvers never see a Kafka client).
 */
export function createChangePubSub() {
  const pubsub = createPubSub<Channels>();
  return {
    publish: (event: ChangeEvent) => pubsub.publish(`change:${event.table}`, event),
    subscribe: (table: CdcTable) => pubsub.subscribe(`change:${table}`),
    /** Rows of the Flink jobs' output topics. */
    publishResult: (result: StreamResult) => pubsub.publish(`result:${result.kind}`, result),
    subscribeResult: (kind: ResultKind) => pubsub.subscribe(`result:${kind}`),
    /** An experiment changed: its status (this process) or its live results (the Flink job's rows). */
    publishExperiment: (experimentId: number) => pubsub.publish('experiment', experimentId),
    subscribeExperiments: () => pubsub.subscribe('experiment'),
  };
}

export type ChangePubSub = ReturnType<typeof createChangePubSub>;
