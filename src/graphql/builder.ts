import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../api/resources.js';
import type PrismaTypes from '../generated/prisma/pothos-types.js';
import { getDatamodel } from '../generated/prisma/pothos-types.js';
import type { GraphQLContext } from './context.js';

/** The one schema builder: context, scalars and Prisma types are fixed here; entity files register on it. */
export const builder = new SchemaBuilder<{
  PrismaTypes: PrismaTypes;
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    Decimal: { Input: string; Output: { toString(): string } | string };
    BigInt: { Input: bigint; Output: bigint | number | string };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  plugins: [PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
  prisma: {
    client: (ctx) => ctx.db,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    maxConnectionSize: MAX_PAGE_SIZE,
    defaultConnectionSize: DEFAULT_PAGE_SIZE,
    onUnusedQuery: null,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
});

builder.queryType({ description: 'Read the shop: every entity, with Relay pagination and filters.' });
builder.mutationType({ description: 'Drive the shop: storefront actions, data generation and simulation.' });
builder.subscriptionType({ description: 'Live changes captured from the database log (Debezium → Kafka), over WebSocket (graphql-ws) or SSE.' });

/** The builder's schema types, for helpers that take a field builder. */
export type SchemaTypes = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
/** The field builder of an object type whose resolvers receive `Parent`. */
export type FieldBuilder<Parent> = PothosSchemaTypes.ObjectFieldBuilder<SchemaTypes, Parent>;
/** The names of the Prisma-backed entity types (Category, Product, …). */
export type EntityName = keyof PrismaTypes & string;
