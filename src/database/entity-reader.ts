import { createHash } from 'node:crypto';
import type pg from 'pg';
import { Prisma } from '../generated/prisma/client.js';
import { getDatamodel } from '../generated/prisma/pothos-types.js';
import type { Db } from './database.js';

/*
 * The entity read path of the API (GraphQL entity queries and the REST lists): a Prisma `findMany` argument
 * object — the one Pothos' plugin-prisma plans from the GraphQL selection, with `include`/`select` of nested
 * to-one relations, to-many relations with their own page, `_count`, `where`, `orderBy`, `cursor`, `take`,
 * `skip` — compiled into ONE SQL statement (correlated subqueries that build JSON, as Hasura and PostGraphile
 * do), run as a named prepared statement on the pg pool. The rows come back in the shape Prisma returns
 * (Date, bigint; money as its exact string), so Pothos resolves every nested field from them without another query.
 *
 * Why not Prisma here: each Prisma query costs ~0.4 ms of server CPU in its wasm query compiler (no plan
 * cache in 6.19; 7.x needs the native engine for migrations, which cannot be installed here), and a list with
 * relations and totalCount is 2–3 of them (bench/RESULTS.md). Why hand-written: no maintained library takes
 * Prisma's argument objects to SQL; the subset Pothos and our filters produce is small and checked below.
 * Anything outside it throws UnsupportedRead and the call falls back to Prisma, so results never differ.
 */

type Json = Record<string, unknown>;

interface FieldMeta {
  name: string;
  column: string;
  kind: 'scalar' | 'enum' | 'object';
  type: string;
  isList: boolean;
  relationName?: string;
  relationFromFields?: string[];
}

interface ModelMeta {
  name: string;
  table: string;
  fields: Map<string, FieldMeta>;
  scalars: FieldMeta[];
  id: FieldMeta | undefined;
}

/** A query shape this compiler does not cover: the caller runs it through Prisma instead. */
export class UnsupportedRead extends Error {}

const unsupported = (what: string): never => {
  throw new UnsupportedRead(what);
};

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

type RuntimeModels = Record<string, { dbName?: string | null; fields: { name: string; dbName?: string | null }[] }>;

/** The models with their table and column names (Pothos' datamodel for relations, Prisma's runtime datamodel for names). */
export function modelsOf(db: Db): Map<string, ModelMeta> {
  const runtime = (db as unknown as { _runtimeDataModel?: { models: RuntimeModels } })._runtimeDataModel?.models;
  if (!runtime) throw new Error('The Prisma client has no runtime datamodel (_runtimeDataModel): the entity reader needs its table and column names.');
  const shapes = getDatamodel().datamodel.models as unknown as Record<
    string,
    { fields: { name: string; kind: string; type: string; isList: boolean; isId: boolean; relationName?: string; relationFromFields?: string[] }[] }
  >;
  const models = new Map<string, ModelMeta>();
  for (const [name, shape] of Object.entries(shapes)) {
    const names = runtime[name];
    if (!names) throw new Error(`The Prisma runtime datamodel has no model ${name}.`);
    const columns = new Map(names.fields.map((f) => [f.name, f.dbName ?? f.name]));
    const fields = shape.fields.map(
      (f): FieldMeta => ({
        name: f.name,
        column: columns.get(f.name) ?? f.name,
        kind: f.kind as FieldMeta['kind'],
        type: f.type,
        isList: f.isList,
        relationName: f.relationName,
        relationFromFields: f.relationFromFields,
      }),
    );
    const ids = shape.fields.filter((f) => f.isId);
    models.set(name, {
      name,
      table: names.dbName ?? name,
      fields: new Map(fields.map((f) => [f.name, f])),
      scalars: fields.filter((f) => f.kind !== 'object'),
      id: ids.length === 1 ? fields.find((f) => f.name === ids[0]!.name) : undefined,
    });
  }
  return models;
}

/** A compiled statement: its text (stable for a query shape: every value is a parameter) and its values. */
export interface CompiledRead {
  text: string;
  values: unknown[];
}

class Compiler {
  readonly values: unknown[] = [];
  private aliases = 0;
  constructor(private readonly models: Map<string, ModelMeta>) {}

  model(name: string): ModelMeta {
    return this.models.get(name) ?? unsupported(`model ${name}`);
  }

  alias(): string {
    return `t${this.aliases++}`;
  }

  param(value: unknown): string {
    this.values.push(toParam(value));
    return `$${this.values.length}`;
  }

  /** `SELECT (rows as a JSON array) AS rows[, (count) AS total]` for a root read. */
  root(model: string, args: Json, countWhere: Json | undefined): string {
    const m = this.model(model);
    const rows = this.list(m, args, undefined);
    if (countWhere === undefined) return `SELECT ${rows} AS rows`;
    const a = this.alias();
    return `SELECT ${rows} AS rows, (SELECT count(*)::int FROM ${quote(m.table)} ${a} WHERE ${this.where(m, a, countWhere)}) AS total`;
  }

  count(model: string, where: Json): string {
    const m = this.model(model);
    const a = this.alias();
    return `SELECT count(*)::int AS total FROM ${quote(m.table)} ${a} WHERE ${this.where(m, a, where)}`;
  }

  /** A JSON array of `m` rows: filtered, ordered, paged, each one an object (join: the condition tying it to its parent row). */
  private list(m: ModelMeta, args: Json, join: ((alias: string) => string) | undefined): string {
    for (const key of Object.keys(args)) {
      if (!['where', 'orderBy', 'take', 'skip', 'cursor', 'include', 'select'].includes(key) && args[key] !== undefined) unsupported(`argument ${key}`);
    }
    const a = this.alias();
    const conditions: string[] = [];
    if (join) conditions.push(join(a));
    if (args.where) conditions.push(this.where(m, a, args.where as Json));
    const order = this.orderBy(m, args.orderBy, args.cursor as Json | undefined, args.take as number | undefined);
    const take = args.take as number | undefined;
    if (take !== undefined && !Number.isInteger(take)) unsupported('a non-integer take');
    const backwards = take !== undefined && take < 0;
    const effective = order.map((o) => ({ ...o, desc: backwards ? !o.desc : o.desc }));
    if (args.cursor !== undefined) {
      const [field, value] = Object.entries(args.cursor as Json)[0]!;
      const column = `${a}.${quote(m.fields.get(field)!.column)}`;
      const check = this.alias();
      const p = this.param(value);
      conditions.push(`${column} ${effective[0]!.desc ? '<=' : '>='} ${p}`);
      conditions.push(`EXISTS (SELECT 1 FROM ${quote(m.table)} ${check} WHERE ${check}.${quote(m.fields.get(field)!.column)} = ${p})`);
    }
    const skip = args.skip as number | undefined;
    if (skip !== undefined && (!Number.isInteger(skip) || skip < 0)) unsupported('a negative or non-integer skip');
    const keys = effective.map((o, i) => `${a}.${quote(o.column)} AS o${i}`);
    const inner =
      `SELECT ${this.object(m, a, args)} AS j${keys.length ? `, ${keys.join(', ')}` : ''} FROM ${quote(m.table)} ${a}` +
      (conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '') +
      (effective.length ? ` ORDER BY ${effective.map((o, i) => `o${i}${o.desc ? ' DESC' : ''}`).join(', ')}` : '') +
      (take !== undefined ? ` LIMIT ${this.param(Math.abs(take))}` : '') +
      (skip ? ` OFFSET ${this.param(skip)}` : '');
    const aggregateOrder = order.length ? ` ORDER BY ${order.map((o, i) => `s.o${i}${o.desc ? ' DESC' : ''}`).join(', ')}` : '';
    return `(SELECT coalesce(json_agg(s.j${aggregateOrder}), '[]'::json) FROM (${inner}) s)`;
  }

  private orderBy(m: ModelMeta, orderBy: unknown, cursor: Json | undefined, take: number | undefined): { column: string; desc: boolean; field: string }[] {
    const items = orderBy === undefined ? [] : Array.isArray(orderBy) ? orderBy : [orderBy];
    const order = items.flatMap((item) =>
      Object.entries(item as Json).map(([field, direction]) => {
        const f = m.fields.get(field);
        if (!f || f.kind === 'object' || f.isList) unsupported(`orderBy ${field}`);
        if (direction !== 'asc' && direction !== 'desc') unsupported(`orderBy ${field}: ${JSON.stringify(direction)}`);
        return { column: f!.column, desc: direction === 'desc', field };
      }),
    );
    if (cursor !== undefined) {
      const entries = Object.entries(cursor);
      if (entries.length !== 1) unsupported('a compound cursor');
      const [field] = entries[0]!;
      const f = m.fields.get(field);
      if (!f || f.kind === 'object') unsupported(`cursor on ${field}`);
      if (order.length === 0) order.push({ column: f!.column, desc: false, field });
      // Prisma's cursor is a position in the order; on the cursor's own column it is a plain bound.
      if (order.length !== 1 || order[0]!.field !== field) unsupported('a cursor on a column the list is not ordered by');
    }
    if (order.length === 0 && (take !== undefined || cursor !== undefined) && m.id) order.push({ column: m.id.column, desc: false, field: m.id.name });
    return order;
  }

  /** `json_build_object(...)` of one row: its scalars (all, or those of `select`) and the relations asked for. */
  private object(m: ModelMeta, a: string, spec: Json): string {
    const select = spec.select as Json | undefined;
    const include = spec.include as Json | undefined;
    if (select && include) unsupported('select and include together');
    const pairs: string[] = [];
    for (const f of m.scalars) {
      if (select && !select[f.name]) continue;
      const column = `${a}.${quote(f.column)}`;
      pairs.push(`'${f.name}'`, f.type === 'Decimal' || f.type === 'BigInt' ? `${column}::text` : column);
    }
    for (const [key, value] of Object.entries(select ?? include ?? {})) {
      if (!value) continue;
      if (key === '_count') {
        pairs.push(`'_count'`, this.counts(m, a, value));
        continue;
      }
      const f = m.fields.get(key) ?? unsupported(`field ${m.name}.${key}`);
      if (f.kind !== 'object') {
        if (select) continue;
        unsupported(`include of the scalar ${key}`);
      }
      const nested = value === true ? {} : (value as Json);
      pairs.push(`'${key}'`, f.isList ? this.list(this.model(f.type), nested, this.join(m, a, f)) : this.one(m, a, f, nested));
    }
    if (pairs.length > 100) unsupported('more than 50 fields in one object');
    return `json_build_object(${pairs.join(', ')})`;
  }

  private one(m: ModelMeta, a: string, f: FieldMeta, nested: Json): string {
    for (const key of Object.keys(nested)) if (key !== 'include' && key !== 'select') unsupported(`argument ${key} on the to-one ${f.name}`);
    const target = this.model(f.type);
    const b = this.alias();
    return `(SELECT ${this.object(target, b, nested)} FROM ${quote(target.table)} ${b} WHERE ${this.join(m, a, f)(b)})`;
  }

  /** The condition joining a row `b` of the relation's target to its parent row `a` of `m`. */
  private join(m: ModelMeta, a: string, f: FieldMeta): (b: string) => string {
    const target = this.model(f.type);
    if (f.relationFromFields?.length) {
      if (f.relationFromFields.length !== 1 || !target.id) unsupported(`the compound relation ${m.name}.${f.name}`);
      const local = m.fields.get(f.relationFromFields[0]!)!;
      return (b) => `${b}.${quote(target.id!.column)} = ${a}.${quote(local.column)}`;
    }
    const opposite = [...target.fields.values()].find((o) => o.kind === 'object' && o.relationName === f.relationName && o !== f);
    if (!opposite?.relationFromFields || opposite.relationFromFields.length !== 1 || !m.id) unsupported(`the relation ${m.name}.${f.name}`);
    const remote = target.fields.get(opposite!.relationFromFields![0]!)!;
    return (b) => `${b}.${quote(remote.column)} = ${a}.${quote(m.id!.column)}`;
  }

  private counts(m: ModelMeta, a: string, value: unknown): string {
    const select = (value as Json | true) === true ? undefined : ((value as Json).select as Json | undefined);
    if (!select) unsupported('_count without select');
    const pairs: string[] = [];
    for (const [key, spec] of Object.entries(select!)) {
      if (!spec) continue;
      const f = m.fields.get(key);
      if (!f || f.kind !== 'object' || !f.isList) unsupported(`_count of ${key}`);
      const target = this.model(f!.type);
      const b = this.alias();
      const where = spec === true ? undefined : ((spec as Json).where as Json | undefined);
      const conditions = [this.join(m, a, f!)(b), ...(where ? [this.where(target, b, where)] : [])];
      pairs.push(`'${key}'`, `(SELECT count(*)::int FROM ${quote(target.table)} ${b} WHERE ${conditions.join(' AND ')})`);
    }
    return `json_build_object(${pairs.join(', ')})`;
  }

  /** A Prisma `where` as SQL over the row `a` of `m` (the subset our filters, row rules and Pothos produce). */
  where(m: ModelMeta, a: string, where: Json): string {
    const parts: string[] = [];
    for (const [key, value] of Object.entries(where)) {
      if (value === undefined) continue;
      if (key === 'AND') {
        const list = (Array.isArray(value) ? value : [value]) as Json[];
        parts.push(...list.map((w) => `(${this.where(m, a, w)})`));
      } else if (key === 'OR') {
        const list = value as Json[];
        if (!Array.isArray(list)) unsupported('OR that is not a list');
        parts.push(list.length ? `(${list.map((w) => `(${this.where(m, a, w)})`).join(' OR ')})` : 'FALSE');
      } else if (key === 'NOT') {
        const list = (Array.isArray(value) ? value : [value]) as Json[];
        parts.push(...list.map((w) => `NOT (${this.where(m, a, w)})`));
      } else {
        const f = m.fields.get(key) ?? unsupported(`filter on ${m.name}.${key}`);
        parts.push(f.kind === 'object' ? this.relationFilter(m, a, f, value) : this.scalarFilter(`${a}.${quote(f.column)}`, value));
      }
    }
    return parts.length ? parts.join(' AND ') : 'TRUE';
  }

  private relationFilter(m: ModelMeta, a: string, f: FieldMeta, value: unknown): string {
    if (value === null || typeof value !== 'object') unsupported(`the relation filter ${f.name}`);
    const target = this.model(f.type);
    const exists = (w: Json | undefined, negate = false) => {
      const b = this.alias();
      const inner = w ? this.where(target, b, w) : 'TRUE';
      return `EXISTS (SELECT 1 FROM ${quote(target.table)} ${b} WHERE ${this.join(m, a, f)(b)} AND ${negate ? `NOT (${inner})` : inner})`;
    };
    const v = value as Json;
    if (f.isList) {
      const keys = Object.keys(v);
      if (keys.some((k) => !['some', 'every', 'none'].includes(k))) unsupported(`the list filter ${f.name}`);
      const parts: string[] = [];
      if (v.some !== undefined) parts.push(exists(v.some as Json));
      if (v.none !== undefined) parts.push(`NOT ${exists(v.none as Json)}`);
      if (v.every !== undefined) parts.push(`NOT ${exists(v.every as Json, true)}`);
      return parts.join(' AND ') || 'TRUE';
    }
    if ('is' in v || 'isNot' in v) {
      if (v.is === null || v.isNot === null) unsupported(`a null relation filter on ${f.name}`);
      const parts: string[] = [];
      if (v.is !== undefined) parts.push(exists(v.is as Json));
      if (v.isNot !== undefined) parts.push(`NOT ${exists(v.isNot as Json)}`);
      return parts.join(' AND ');
    }
    return exists(v);
  }

  private scalarFilter(column: string, value: unknown): string {
    if (value === null) return `${column} IS NULL`;
    if (isPlainValue(value)) return `${column} = ${this.param(value)}`;
    const ops = value as Json;
    const insensitive = ops.mode === 'insensitive';
    if (ops.mode !== undefined && ops.mode !== 'insensitive' && ops.mode !== 'default') unsupported(`mode ${String(ops.mode)}`);
    const parts: string[] = [];
    for (const [op, operand] of Object.entries(ops)) {
      if (op === 'mode' || operand === undefined) continue;
      switch (op) {
        case 'equals':
          parts.push(operand === null ? `${column} IS NULL` : `${column} = ${this.param(operand)}`);
          break;
        case 'not':
          if (operand !== null && !isPlainValue(operand)) unsupported('a nested not');
          parts.push(operand === null ? `${column} IS NOT NULL` : `${column} <> ${this.param(operand)}`);
          break;
        case 'in':
        case 'notIn': {
          if (!Array.isArray(operand)) unsupported(`${op} without a list`);
          const list = operand as unknown[];
          const test = list.length ? `${column} = ANY(${this.param(list)})` : 'FALSE';
          parts.push(op === 'in' ? test : `NOT (${test})`);
          break;
        }
        case 'lt':
        case 'lte':
        case 'gt':
        case 'gte':
          parts.push(`${column} ${{ lt: '<', lte: '<=', gt: '>', gte: '>=' }[op]} ${this.param(operand)}`);
          break;
        case 'contains':
        case 'startsWith':
        case 'endsWith': {
          if (typeof operand !== 'string') unsupported(`${op} of a non-string`);
          const pattern = op === 'contains' ? `%${operand}%` : op === 'startsWith' ? `${operand}%` : `%${operand}`;
          parts.push(`${column} ${insensitive ? 'ILIKE' : 'LIKE'} ${this.param(pattern)}`);
          break;
        }
        default:
          unsupported(`the filter operator ${op}`);
      }
    }
    return parts.length ? parts.join(' AND ') : 'TRUE';
  }
}

function isPlainValue(value: unknown): boolean {
  return typeof value !== 'object' || value instanceof Date || Prisma.Decimal.isDecimal(value);
}

function toParam(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Prisma.Decimal.isDecimal(value)) return value.toString();
  if (Array.isArray(value)) return value.map(toParam);
  return value;
}

/** Compiles a root read (rows, and the count of `countWhere` when given) into one statement. */
export function compileRead(models: Map<string, ModelMeta>, model: string, args: Json, countWhere?: Json): CompiledRead {
  const compiler = new Compiler(models);
  const text = compiler.root(model, args, countWhere);
  return { text, values: compiler.values };
}

/**
 * Turns the JSON of a row back into Prisma's types (Date, bigint), nested relations included. Money stays the
 * exact two-decimal string PostgreSQL prints ("20.00"), which is what the API sends: a Decimal.js object per
 * value cost ~4% of a 20-row list's server time for nothing.
 */
function revive(models: Map<string, ModelMeta>, m: ModelMeta, row: Json): Json {
  for (const key of Object.keys(row)) {
    const value = row[key];
    if (value === null || value === undefined) continue;
    const f = m.fields.get(key);
    if (!f) continue;
    if (f.kind === 'object') {
      const target = models.get(f.type)!;
      if (Array.isArray(value)) for (const item of value) revive(models, target, item as Json);
      else revive(models, target, value as Json);
    } else if (f.type === 'DateTime') row[key] = new Date(value as string);
    else if (f.type === 'BigInt') row[key] = BigInt(value as string);
    else if (f.type === 'Float' && typeof value === 'string') row[key] = Number(value);
  }
  return row;
}

/** Prisma's Decimal values as the reader's two-decimal strings (the rows of a read handed to Prisma). */
function moneyAsText(value: unknown): unknown {
  if (Prisma.Decimal.isDecimal(value)) return value.toFixed(2);
  if (Array.isArray(value)) return value.map(moneyAsText);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const row = value as Json;
    for (const key of Object.keys(row)) row[key] = moneyAsText(row[key]);
  }
  return value;
}

export interface ReadStats {
  /** Statements this reader sent to PostgreSQL. */
  statements: number;
  /** Reads it handed to Prisma (a shape the compiler does not cover). */
  fallbacks: number;
}

export interface EntityReader {
  /** Rows of `model` as Prisma's `findMany(args)` returns them; with `countWhere`, also the count of the rows it matches (same statement). */
  findMany(model: string, args: Json, countWhere?: Json): Promise<{ rows: Json[]; total?: number }>;
  /** The first row, as Prisma's `findFirst(args)`. */
  findFirst(model: string, args: Json): Promise<Json | null>;
  count(model: string, where: Json): Promise<number>;
  readonly stats: ReadStats;
}

/** Named prepared statements per query shape, up to this many shapes (others run unnamed). */
const MAX_PREPARED = 500;

/** `onFallback` hears each read handed to Prisma, with what the compiler did not cover. */
export function createEntityReader(pool: pg.Pool, db: Db, onFallback: (model: string, reason: string) => void = () => undefined): EntityReader {
  const models = modelsOf(db);
  const names = new Map<string, string>();
  const stats: ReadStats = { statements: 0, fallbacks: 0 };
  const delegate = (model: string) =>
    (db as unknown as Record<string, Record<string, (args: Json) => Promise<unknown>>>)[model[0]!.toLowerCase() + model.slice(1)]!;

  /** Records a read the compiler does not cover (the caller then runs it through Prisma); rethrows any other error. */
  function handOver(model: string, error: unknown): void {
    if (!(error instanceof UnsupportedRead)) throw error;
    stats.fallbacks++;
    onFallback(model, error.message);
  }

  async function run(compiled: CompiledRead): Promise<Json> {
    let name = names.get(compiled.text);
    if (!name && names.size < MAX_PREPARED) {
      // Named by the text: every reader on a pool (and every connection) agrees on what a name means.
      name = `rtrec_read_${createHash('sha256').update(compiled.text).digest('hex').slice(0, 32)}`;
      names.set(compiled.text, name);
    }
    stats.statements++;
    const result = await pool.query({ name, text: compiled.text, values: compiled.values });
    return result.rows[0] as Json;
  }

  async function findMany(model: string, args: Json, countWhere?: Json): Promise<{ rows: Json[]; total?: number }> {
    let compiled: CompiledRead;
    try {
      compiled = compileRead(models, model, args, countWhere);
    } catch (error) {
      handOver(model, error);
      const d = delegate(model);
      const [rows, total] = await Promise.all([
        d.findMany!(args) as Promise<Json[]>,
        countWhere ? (d.count!({ where: countWhere }) as Promise<number>) : undefined,
      ]);
      return { rows: rows.map(moneyAsText) as Json[], total };
    }
    const row = await run(compiled);
    const m = models.get(model)!;
    const rows = (row.rows as Json[]).map((r) => revive(models, m, r));
    return countWhere ? { rows, total: row.total as number } : { rows };
  }

  return {
    stats,
    findMany,
    async findFirst(model, args) {
      const { rows } = await findMany(model, { ...args, take: 1 });
      return rows[0] ?? null;
    },
    async count(model, where) {
      const compiler = new Compiler(models);
      let text: string;
      try {
        text = compiler.count(model, where);
      } catch (error) {
        handOver(model, error);
        return delegate(model).count!({ where }) as Promise<number>;
      }
      return (await run({ text, values: compiler.values })).total as number;
    },
  };
}
