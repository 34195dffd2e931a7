import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildSchema, GraphQLObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { type ColumnKind, camelCase, FEATURE_CONTRACTS, RESULT_CONTRACTS, type ResultContract, TABLE_CONTRACTS } from '../../src/flink/contracts.js';

/*
 * One contract per Flink output (src/flink/contracts.ts); everything else that spells the row out is checked
 * against it here: the sink DDL of the job, the Prisma model of the sink table, and the GraphQL type.
 */

const root = resolve(import.meta.dirname, '../..');
const CONTRACTS: [string, ResultContract][] = [...Object.entries(RESULT_CONTRACTS), ...Object.entries(FEATURE_CONTRACTS), ...Object.entries(TABLE_CONTRACTS)];

interface SinkTable {
  columns: { name: string; type: string }[];
  primaryKey: string[];
}

/** The CREATE TABLE statements of a job file whose WITH options contain `option` (a table name or a topic). */
function sinkTables(job: string, option: string): SinkTable[] {
  const text = readFileSync(join(root, 'flink', `${job}.sql`), 'utf8');
  const tables: SinkTable[] = [];
  for (const m of text.matchAll(/CREATE TABLE \w+ \(([\s\S]*?)\) WITH \(([\s\S]*?)\);/g)) {
    if (!m[2]!.includes(option)) continue;
    const parts = m[1]!
      .split(/,(?![^(]*\))/)
      .map((p) => p.trim())
      .filter(Boolean);
    const pk = parts.find((p) => p.startsWith('PRIMARY KEY'));
    tables.push({
      columns: parts
        .filter((p) => !p.startsWith('PRIMARY KEY'))
        .map((p) => {
          const [name, ...type] = p.split(/\s+/);
          return { name: name!.replaceAll('`', ''), type: type.join(' ') };
        }),
      primaryKey: pk
        ? /\(([^)]*)\)/
            .exec(pk)![1]!
            .split(',')
            .map((c) => c.trim().replaceAll('`', ''))
        : [],
    });
  }
  return tables;
}

const FLINK_TYPES: Record<ColumnKind, RegExp> = {
  string: /^STRING$/,
  int: /^INT$/,
  bigint: /^BIGINT$/,
  money: /^DECIMAL\(\d+, 2\)$/,
  float: /^DOUBLE$/,
  time: /^TIMESTAMP(_LTZ)?\(3\)$/,
};
const PRISMA_TYPES: Record<ColumnKind, string> = { string: 'String', int: 'Int', bigint: 'BigInt', money: 'Decimal', float: 'Float', time: 'DateTime' };

interface PrismaModel {
  table: string;
  fields: { name: string; type: string; isRequired: boolean }[];
}

/** The models of prisma/schema.prisma with their table names (`@@map`) and scalar fields. */
function prismaModels(): PrismaModel[] {
  const text = readFileSync(join(root, 'prisma', 'schema.prisma'), 'utf8');
  return [...text.matchAll(/^model \w+ \{([\s\S]*?)^\}/gm)].map((m) => ({
    table: /@@map\("(\w+)"\)/.exec(m[1]!)?.[1] ?? '',
    fields: [...m[1]!.matchAll(/^\s+(\w+)\s+(\w+)(\??)(\[\])?(?!\s*@relation)/gm)]
      .filter((f) => !f[4] && !/@relation/.test(m[1]!.split('\n').find((l) => l.trim().startsWith(`${f[1]} `)) ?? ''))
      .map((f) => ({ name: f[1]!, type: f[2]!, isRequired: f[3] !== '?' })),
  }));
}
const models = prismaModels();
const sdl = buildSchema(readFileSync(join(root, 'schema', 'schema.graphql'), 'utf8'));

describe.each(CONTRACTS)('the Flink output %s', (_name, contract) => {
  it('is written by its job with the contract’s columns, types and key (table sink, and topic sink when streamed)', () => {
    const expected = Object.entries(contract.columns);
    const sinks = [
      ...sinkTables(contract.job, `'table-name' = '${contract.table}'`),
      ...(contract.topic ? sinkTables(contract.job, `'topic' = '\${topic.prefix}.${contract.topic}'`) : []),
    ];
    expect(sinks).toHaveLength(contract.topic ? 2 : 1);
    for (const sink of sinks) {
      expect(sink.columns.map((c) => c.name)).toEqual(expected.map(([n]) => n));
      for (const [i, [, spec]] of expected.entries()) expect(sink.columns[i]!.type, `${contract.table}.${expected[i]![0]}`).toMatch(FLINK_TYPES[spec.kind]);
    }
    expect(sinks[0]!.primaryKey).toEqual([...contract.key]);
  });

  it('has a Prisma model of the sink table with the same columns, types and nullability', () => {
    const model = models.find((m) => m.table === contract.table);
    expect(model, contract.table).toBeDefined();
    const scalars = model!.fields;
    expect(scalars.map((f) => f.name).sort()).toEqual(Object.keys(contract.columns).map(camelCase).sort());
    for (const [name, spec] of Object.entries(contract.columns)) {
      const field = scalars.find((f) => f.name === camelCase(name))!;
      expect(field.type, name).toBe(PRISMA_TYPES[spec.kind]);
      expect(field.isRequired, name).toBe(!spec.nullable);
    }
  });

  it.runIf(contract.graphql)('is served by a GraphQL type with a field for every column', () => {
    const type = sdl.getType(contract.graphql!.type);
    expect(type).toBeInstanceOf(GraphQLObjectType);
    const fields = Object.keys((type as GraphQLObjectType).getFields());
    for (const name of Object.keys(contract.columns)) expect(fields, name).toContain(contract.graphql!.renamed?.[name] ?? camelCase(name));
  });
});

describe('the jobs’ Kafka sources', () => {
  it('share one definition of each change-topic source (flink/include/source-<table>.sql, over cdc-source.sql)', () => {
    for (const job of ['fraud-detection', 'revenue-stats', 'top-products', 'recommendation-features', 'experiment-results']) {
      const text = readFileSync(join(root, 'flink', `${job}.sql`), 'utf8');
      expect(text, job).not.toMatch(/\.public\.|CREATE TABLE \w+_(raw|changes)/);
      expect(text, job).toMatch(/@include source-\w+/);
    }
    for (const table of ['orders', 'order_items', 'behavior_events']) {
      const text = readFileSync(join(root, 'flink', 'include', `source-${table}.sql`), 'utf8');
      expect(text, table).toContain(`@include cdc-source table=${table}`);
    }
  });
});
