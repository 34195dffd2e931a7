import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lexicographicSortSchema, parse, printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema/index.js';
import { projectRoot } from '../../src/paths.js';
import { oversizedPages } from '../../src/server/page-size.js';

describe('GraphQL schema', () => {
  it('matches the committed SDL in schema/schema.graphql (run `npm run schema:print` after changing it)', () => {
    const committed = readFileSync(join(projectRoot, 'schema', 'schema.graphql'), 'utf8');
    expect(committed).toBe(`${printSchema(lexicographicSortSchema(schema))}\n`);
  });

  it('never exposes password hashes or the simulator ground truth', () => {
    const sdl = printSchema(schema);
    expect(sdl).not.toMatch(/passwordHash|password_hash/);
    expect(sdl).not.toMatch(/CustomerTastes|ProductTraits|priceSensitivity/);
  });

  it('exposes the seed integer keys and both directions of relations', () => {
    const customer = schema.getType('Customer') as import('graphql').GraphQLObjectType;
    expect(Object.keys(customer.getFields())).toEqual(expect.arrayContaining(['customerId', 'orders', 'carts', 'wishlists', 'payments', 'behaviorEvents']));
    const product = schema.getType('Product') as import('graphql').GraphQLObjectType;
    expect(Object.keys(product.getFields())).toEqual(expect.arrayContaining(['productId', 'category', 'orderItems']));
  });
});

describe('page-size limit', () => {
  it('finds oversized first/last arguments, nested ones and variables included', () => {
    const doc = parse('query($n: Int) { customers(first: 500) { edges { node { orders(last: $n) { totalCount } } } } products(first: 10) { totalCount } }');
    expect(oversizedPages(doc, { n: 1000 }, 100)).toEqual(['customers(first: 500)', 'orders(last: 1000)']);
    expect(oversizedPages(doc, { n: 5 }, 1000)).toEqual([]);
  });
});
