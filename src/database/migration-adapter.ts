import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { connectionFields } from './url.js';

const PG_NAME = 19;
const PG_CHAR = 18;
const PG_TEXT = 25;
const COLUMN_TYPE_CHARACTER = 6;

type RawResult = { columnNames: string[]; columnTypes: number[]; rows: unknown[][] };
type Queryable = {
  performIO(query: unknown): Promise<{ fields: { dataTypeID: number }[]; rows: unknown[][] }>;
  queryRaw(query: unknown): Promise<RawResult>;
};

const patched = new WeakSet<object>();

/**
 * The stock adapter rejects the catalog types `name` and `"char"` that the schema engine reads while
 * introspecting. Report `name` as text and `"char"` as a character column, on the shared queryable
 * prototype so transactions get the same treatment.
 */
function patchQueryablePrototype(adapter: object): void {
  let proto: object | null = Object.getPrototypeOf(adapter);
  while (proto && !Object.hasOwn(proto, 'queryRaw')) proto = Object.getPrototypeOf(proto);
  if (!proto || patched.has(proto)) return;
  patched.add(proto);
  const original = (proto as Queryable).queryRaw;
  (proto as Queryable).queryRaw = async function (this: Queryable, query: unknown): Promise<RawResult> {
    const charColumns: number[] = [];
    const performIO = this.performIO;
    this.performIO = async (q: unknown) => {
      const result = await performIO.call(this, q);
      result.fields.forEach((field, i) => {
        if (field.dataTypeID === PG_CHAR) charColumns.push(i);
        if (field.dataTypeID === PG_NAME || field.dataTypeID === PG_CHAR) field.dataTypeID = PG_TEXT;
      });
      return result;
    };
    try {
      const result = await original.call(this, query);
      for (const i of charColumns) result.columnTypes[i] = COLUMN_TYPE_CHARACTER;
      return result;
    } finally {
      delete (this as Partial<Queryable>).performIO;
    }
  };
}

type Scripted = { client: { query(sql: string): Promise<unknown> }; onError(error: unknown): never; executeScript(script: string): Promise<void> };

/**
 * The stock adapter runs a migration script by splitting it on every ";", which breaks function bodies
 * ($$ … ; … $$, e.g. the notify trigger of 20261124080000_recommendation_notify). PostgreSQL takes the
 * whole script in one simple-query message (one implicit transaction), so send it as it is.
 */
function patchExecuteScript(adapter: object): void {
  let proto: object | null = Object.getPrototypeOf(adapter);
  while (proto && !Object.hasOwn(proto, 'executeScript')) proto = Object.getPrototypeOf(proto);
  if (!proto || patched.has(proto)) return;
  patched.add(proto);
  (proto as Scripted).executeScript = async function (this: Scripted, script: string): Promise<void> {
    try {
      await this.client.query(script);
    } catch (error) {
      this.onError(error);
    }
  };
}

/** Adapter factory for the Prisma CLI only (migrate deploy/dev/reset/diff); the app uses the stock PrismaPg. */
export class MigrationAdapterFactory extends PrismaPg {
  private readonly fields: pg.PoolConfig;

  constructor(url: string) {
    const fields = connectionFields(url);
    super(fields);
    this.fields = fields;
  }

  override async connect() {
    const adapter = await super.connect();
    patchQueryablePrototype(adapter);
    patchExecuteScript(adapter);
    return adapter;
  }

  /** Creates the shadow database itself, and drops it only after the shadow pool has closed. */
  override async connectToShadowDb() {
    const database = `prisma_shadow_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ ...this.fields });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${database}"`);
    } finally {
      await admin.end();
    }
    const shadowFactory = new PrismaPg({ ...this.fields, database });
    const adapter = await shadowFactory.connect();
    patchQueryablePrototype(adapter);
    patchExecuteScript(adapter);
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      await dispose();
      const cleanup = new pg.Client({ ...this.fields });
      await cleanup.connect();
      try {
        await cleanup.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      } finally {
        await cleanup.end();
      }
    };
    return adapter;
  }
}
