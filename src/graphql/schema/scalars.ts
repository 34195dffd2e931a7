import { GraphQLError, Kind } from 'graphql';
import { DATE_RANGE, inDateRange } from '../../api/resources.js';
import { builder } from '../builder.js';

const bad = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });

builder.scalarType('DateTime', {
  description: 'An ISO-8601 date-time, e.g. 2026-11-24T08:00:00.000Z',
  serialize: (value) => (value instanceof Date ? value.toISOString() : new Date(value).toISOString()),
  parseValue: (value) => {
    const d = new Date(String(value));
    if (typeof value !== 'string' || Number.isNaN(d.getTime())) throw bad(`Expected an ISO-8601 date-time, got ${JSON.stringify(value)}.`);
    if (!inDateRange(d)) throw bad(`Expected a date-time from ${DATE_RANGE.min} to ${DATE_RANGE.max}, got ${JSON.stringify(value)}.`);
    return d;
  },
  parseLiteral: (ast) => {
    const d = ast.kind === Kind.STRING ? new Date(ast.value) : new Date(Number.NaN);
    if (Number.isNaN(d.getTime())) throw bad('Expected an ISO-8601 date-time string such as "2026-11-24T08:00:00Z".');
    if (!inDateRange(d)) throw bad(`Expected a date-time from ${DATE_RANGE.min} to ${DATE_RANGE.max}.`);
    return d;
  },
});

const DECIMAL = /^-?\d{1,8}(\.\d{1,2})?$/;
builder.scalarType('Decimal', {
  description: 'An exact money amount with two decimals, as a string (e.g. "19.99").',
  serialize: (value) => (typeof value === 'string' ? value : Number(value.toString()).toFixed(2)),
  parseValue: (value) => {
    const text = typeof value === 'number' ? String(value) : value;
    if (typeof text !== 'string' || !DECIMAL.test(text)) throw bad(`Expected a money amount like "19.99", got ${JSON.stringify(value)}.`);
    return text;
  },
  parseLiteral: (ast) => {
    if ((ast.kind === Kind.STRING || ast.kind === Kind.FLOAT || ast.kind === Kind.INT) && DECIMAL.test(ast.value)) return ast.value;
    throw bad('Expected a money amount like "19.99".');
  },
});

builder.scalarType('BigInt', {
  description: 'A 64-bit integer id, serialized as a string.',
  serialize: (value) => String(value),
  parseValue: (value) => {
    if ((typeof value !== 'string' && typeof value !== 'number') || !/^\d{1,19}$/.test(String(value)))
      throw bad(`Expected a positive integer id, got ${JSON.stringify(value)}.`);
    return BigInt(value);
  },
  parseLiteral: (ast) => {
    if ((ast.kind === Kind.STRING || ast.kind === Kind.INT) && /^\d{1,19}$/.test(ast.value)) return BigInt(ast.value);
    throw bad('Expected a positive integer id.');
  },
});

builder.scalarType('JSON', {
  description: 'Arbitrary JSON (small context objects on behaviour events).',
  serialize: (value) => value,
  parseValue: (value) => value,
});
