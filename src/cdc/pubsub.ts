import { createPubSub } from 'graphql-yoga';
import type { ChangeEvent } from './envelope.js';
import type { CdcTable } from './tables.js';

type Channels = { [K in `change:${CdcTable}`]: [ChangeEvent] };

/**
 * The in-process pubsub the CDC bridge publishes to and subscriptions read from (yoga's pluggable
 * event target; resolvers never see a Kafka client).
 */
export function createChangePubSub() {
  const pubsub = createPubSub<Channels>();
  return {
    publish: (event: ChangeEvent) => pubsub.publish(`change:${event.table}`, event),
    subscribe: (table: CdcTable) => pubsub.subscribe(`change:${table}`),
  };
}

export type ChangePubSub = ReturnType<typeof createChangePubSub>;
