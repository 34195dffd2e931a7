import type pg from 'pg';
import type { Db } from '../database/database.js';
import { createChannelListener } from '../database/listener.js';
import { AppError, notFound } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { productsInCart, type Recommendation } from '../recommend/serving.js';
import { type ActiveRule, applyRules, inWindow, type ProductFacts, pinnedProducts, productsNeeded, type RuleAction, type Selector } from './apply.js';

/*
 * Merchandising rules: managed by admins (GraphQL mutations, `rtrec rule`), kept in merchandising_rules, applied
 * by serving to every list after scoring (apply.ts). A trigger notifies every change, whoever made it, and this
 * process re-reads the rules then (and at most once a second while its LISTEN connection is down); each rule's time
 * window is checked at serving time, and the composition root re-serves the watched lists when a rule changes or
 * a window opens or closes.
 */

export const RULE_ACTIONS = ['pin', 'boost', 'bury', 'filter'] as const satisfies readonly RuleAction[];
/** Candidates read per list while rules are in force (× its length), so boosts can lift products from below the cut. */
export const OVERFETCH = 2;
/** The channel the merchandising_rules trigger notifies with a rule id (migration 20261207120000_merchandising_rules_notify). */
export const RULES_CHANNEL = 'rtrec_merchandising_rules';
/**
 * How long the rules read last serve: while this process LISTENs on RULES_CHANNEL a change re-reads them at once,
 * so the re-read is only a safety net; without the LISTEN (it is being reopened) they are re-read every second.
 */
const RULES_TTL_LISTENING_MS = 60_000;
const RULES_TTL_MS = 1000;
const MAX_INT = 2_147_483_647;

export interface RuleInput extends Selector {
  name: string;
  action: RuleAction;
  factor?: number | null;
  position?: number | null;
  startsAt?: Date | null;
  endsAt?: Date | null;
}

export interface RuleRow extends ActiveRule {
  name: string;
  startsAt: Date | null;
  endsAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const bad = (field: string, message: string) => new AppError('BAD_USER_INPUT', message, { field });
const SELECTORS = ['productId', 'categoryId', 'minPrice', 'maxPrice', 'minStock', 'maxStock', 'newWithinDays'] as const;

/** Checks a rule; every message names the field and what is allowed. */
export function validateRule(input: RuleInput): void {
  if (typeof input.name !== 'string' || input.name.trim().length === 0 || input.name.length > 100)
    throw bad('name', `name must be 1-100 characters, got ${JSON.stringify(input.name)}.`);
  if (!RULE_ACTIONS.includes(input.action)) throw bad('action', `action must be one of ${RULE_ACTIONS.join(', ')}, got "${input.action}".`);
  const int = (field: keyof RuleInput, min: number, max: number) => {
    const v = input[field];
    if (v != null && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max))
      throw bad(field, `${field} must be a whole number from ${min} to ${max}, got ${v}.`);
  };
  int('productId', 1, MAX_INT);
  int('categoryId', 1, MAX_INT);
  int('minStock', 0, MAX_INT);
  int('maxStock', 0, MAX_INT);
  int('newWithinDays', 1, 3650);
  int('position', 1, 100);
  for (const field of ['minPrice', 'maxPrice'] as const) {
    const v = input[field];
    if (v != null && (!Number.isFinite(v) || v < 0 || v > 99_999_999.99)) throw bad(field, `${field} must be an amount from 0 to 99999999.99, got ${v}.`);
  }
  if (input.minPrice != null && input.maxPrice != null && input.minPrice > input.maxPrice)
    throw bad('maxPrice', `maxPrice (${input.maxPrice}) is below minPrice (${input.minPrice}): swap them.`);
  if (input.minStock != null && input.maxStock != null && input.minStock > input.maxStock)
    throw bad('maxStock', `maxStock (${input.maxStock}) is below minStock (${input.minStock}): swap them.`);
  if (input.startsAt && Number.isNaN(input.startsAt.getTime())) throw bad('startsAt', 'startsAt must be an ISO date-time.');
  if (input.endsAt && Number.isNaN(input.endsAt.getTime())) throw bad('endsAt', 'endsAt must be an ISO date-time.');
  if (input.startsAt && input.endsAt && input.endsAt.getTime() <= input.startsAt.getTime())
    throw bad('endsAt', 'endsAt must be after startsAt (the rule is in force from startsAt until endsAt).');
  const selected = SELECTORS.filter((f) => input[f] != null);
  switch (input.action) {
    case 'pin':
      if (input.productId == null || input.position == null)
        throw bad(input.productId == null ? 'productId' : 'position', 'A pin needs productId and position (1 = first).');
      if (selected.length > 1) throw bad('productId', 'A pin names one product: leave the other selectors out.');
      if (input.factor != null) throw bad('factor', 'A pin has no factor: leave it out.');
      break;
    case 'boost':
    case 'bury': {
      if (selected.length === 0)
        throw bad('productId', `A ${input.action} needs a selector: productId, categoryId, minPrice/maxPrice, minStock/maxStock or newWithinDays.`);
      const f = input.factor;
      const ok = f != null && Number.isFinite(f) && (input.action === 'boost' ? f > 1 && f <= 1000 : f > 0 && f < 1);
      if (!ok)
        throw bad(
          'factor',
          input.action === 'boost'
            ? `A boost's factor must be above 1 and at most 1000, got ${f}.`
            : `A bury's factor must be between 0 and 1 (exclusive), got ${f}.`,
        );
      if (input.position != null) throw bad('position', `A ${input.action} has no position: leave it out (pin places products).`);
      break;
    }
    case 'filter':
      if ((input.productId == null) === (input.categoryId == null) || selected.length !== 1)
        throw bad('productId', 'A filter removes one product or one category: give productId or categoryId, not both and nothing else.');
      if (input.factor != null || input.position != null)
        throw bad(input.factor != null ? 'factor' : 'position', 'A filter has no factor or position: leave them out.');
      break;
  }
}

type StoredRule = {
  ruleId: number;
  name: string;
  action: RuleAction;
  productId: number | null;
  categoryId: number | null;
  minPrice: { toString(): string } | null;
  maxPrice: { toString(): string } | null;
  minStock: number | null;
  maxStock: number | null;
  newWithinDays: number | null;
  factor: number | null;
  position: number | null;
  startsAt: Date | null;
  endsAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
};

const toRow = (r: StoredRule): RuleRow => ({
  ...r,
  minPrice: r.minPrice === null ? null : Number(r.minPrice.toString()),
  maxPrice: r.maxPrice === null ? null : Number(r.maxPrice.toString()),
});

/** Every rule, oldest first: read with pg, not Prisma, because serving re-reads them every second (a fraction of the CPU). */
const RULES_SQL = `
SELECT rule_id AS "ruleId", name, action::text AS action, product_id AS "productId", category_id AS "categoryId",
       min_price::text AS "minPrice", max_price::text AS "maxPrice", min_stock AS "minStock", max_stock AS "maxStock",
       new_within_days AS "newWithinDays", factor, position, starts_at AS "startsAt", ends_at AS "endsAt",
       created_at AS "createdAt", updated_at AS "updatedAt"
FROM merchandising_rules ORDER BY rule_id`;

const FACTS_SQL = `
SELECT p.product_id, p.name, p.category_id, c.name AS category_name, p.price::text AS price, p.stock, p.is_active, p.created_at
FROM products p JOIN categories c ON c.category_id = p.category_id
WHERE p.product_id = ANY($1::int[])`;
/**
 * After this long a product's facts (price, stock, category, age) are re-read in the background: rules that select
 * by stock or price follow the catalogue within about this delay, and a list does not wait for the read.
 */
const FACTS_TTL_MS = 2000;
/** Facts older than this are never used: the list waits for a fresh read. */
const FACTS_STALE_MS = 30_000;
const MAX_FACTS = 100_000;

export type RuleListener = () => void;

export function createMerchandising({ db, pool, logger }: { db: Db; pool: pg.Pool; logger: Logger }) {
  let cached: { at: number; rules: Promise<RuleRow[]> } | undefined;
  const listeners = new Set<RuleListener>();
  const notifications = createChannelListener(pool, logger, {
    channel: RULES_CHANNEL,
    onId: () => changed(),
    // Changes made while the connection was down (or before it first opened) were not notified: read again.
    onListening: () => void recheck(),
    lostMessage: 'the merchandising rules listener lost its connection; reconnecting (rules are re-read every second meanwhile)',
    failedMessage: 'could not LISTEN for merchandising rule changes; retrying (rules are re-read every second meanwhile)',
  });
  const factsCache = new Map<number, { at: number; facts: Omit<ProductFacts, 'inCart'> }>();

  /** Reads the facts of these products into the cache. */
  async function readFacts(ids: number[]): Promise<void> {
    const { rows } = await pool.query<{
      product_id: number;
      name: string;
      category_id: number;
      category_name: string;
      price: string;
      stock: number;
      is_active: boolean;
      created_at: Date;
    }>({ name: 'rtrec-merchandising-facts', text: FACTS_SQL, values: [ids] });
    if (factsCache.size + rows.length > MAX_FACTS) factsCache.clear();
    const at = Date.now();
    for (const r of rows) {
      factsCache.set(r.product_id, {
        at,
        facts: {
          productId: r.product_id,
          name: r.name,
          categoryId: r.category_id,
          categoryName: r.category_name,
          price: r.price,
          stock: r.stock,
          isActive: r.is_active,
          createdAt: r.created_at,
        },
      });
    }
  }

  /** Products whose facts are being re-read in the background (stale ones still serve meanwhile). */
  const refreshing = new Set<number>();
  let refreshQueued = false;
  function refreshLater(ids: number[]): void {
    for (const id of ids) refreshing.add(id);
    if (refreshQueued) return;
    refreshQueued = true;
    setImmediate(() => {
      const batch = [...refreshing];
      refreshQueued = false;
      readFacts(batch)
        .catch((error: unknown) => logger.warn({ err: error }, 'could not re-read product facts for the merchandising rules'))
        .finally(() => {
          for (const id of batch) refreshing.delete(id);
        });
    });
  }

  /**
   * The facts of these products. Read within FACTS_TTL_MS: from memory. Older (up to FACTS_STALE_MS): from memory,
   * re-read in the background (stale-while-revalidate), so a list rarely waits for a query. Unknown: one query.
   */
  async function factsOf(ids: number[]): Promise<Map<number, Omit<ProductFacts, 'inCart'>>> {
    const now = Date.now();
    const missing: number[] = [];
    const stale: number[] = [];
    for (const id of ids) {
      const hit = factsCache.get(id);
      if (!hit || now - hit.at >= FACTS_STALE_MS) missing.push(id);
      else if (now - hit.at >= FACTS_TTL_MS && !refreshing.has(id)) stale.push(id);
    }
    if (stale.length) refreshLater(stale);
    if (missing.length) await readFacts(missing);
    const out = new Map<number, Omit<ProductFacts, 'inCart'>>();
    for (const id of ids) {
      const hit = factsCache.get(id);
      if (hit) out.set(id, hit.facts);
    }
    return out;
  }

  /**
   * The rules, read again after a change (notified, or made by this process) or after their TTL: the rules read
   * last serve while the next read is in flight (no list waits for it).
   */
  function all(): Promise<RuleRow[]> {
    const ttl = notifications.connected() ? RULES_TTL_LISTENING_MS : RULES_TTL_MS;
    if (!cached) {
      const read = readRules();
      cached = { at: Date.now(), rules: read };
      read.catch(() => {
        cached = undefined;
      });
    } else if (Date.now() - cached.at > ttl) {
      const previous = cached.rules;
      const entry = { at: Date.now(), rules: previous };
      cached = entry;
      readRules()
        .then((rules) => {
          if (cached === entry) cached = { at: entry.at, rules: Promise.resolve(rules) };
        })
        .catch((error: unknown) => {
          logger.warn({ err: error }, 'could not re-read the merchandising rules; the last ones stay in force');
        });
      return previous;
    }
    return cached.rules;
  }
  const readRules = () => pool.query<StoredRule>({ name: 'rtrec-merchandising-rules', text: RULES_SQL }).then((r) => r.rows.map(toRow));

  /**
   * Reads the rules again and runs the listeners only if they differ from the ones served so far: a LISTEN that
   * (re)connects after nothing changed must not drop every cached list.
   */
  async function recheck(): Promise<void> {
    const before = cached;
    // Nothing read yet: the first read comes after this LISTEN, so nothing was missed.
    if (!before) return;
    let same = false;
    try {
      const [old, fresh] = await Promise.all([before.rules, readRules()]);
      same = JSON.stringify(old) === JSON.stringify(fresh);
      if (same && cached === before) cached = { at: Date.now(), rules: Promise.resolve(fresh) };
    } catch (error) {
      logger.warn({ err: error }, 'could not re-read the merchandising rules after the LISTEN connected');
    }
    if (!same) changed();
  }

  function changed(): void {
    cached = undefined;
    for (const l of listeners) {
      try {
        l();
      } catch (error) {
        logger.warn({ err: error }, 'a merchandising rule listener failed');
      }
    }
  }

  async function checkTargets(input: RuleInput): Promise<void> {
    if (input.productId != null && !(await db.product.findUnique({ where: { productId: input.productId }, select: { productId: true } })))
      throw new AppError('NOT_FOUND', `Product ${input.productId} does not exist: query products for a valid productId.`, { field: 'productId' });
    if (input.categoryId != null && !(await db.category.findUnique({ where: { categoryId: input.categoryId }, select: { categoryId: true } })))
      throw new AppError('NOT_FOUND', `Category ${input.categoryId} does not exist: query categories for a valid categoryId.`, { field: 'categoryId' });
  }

  /**
   * Which pinned products are in the customer's cart (pins skip them; the recommender already leaves carted
   * products out of its list). Start it alongside the recommender's query, and pass it to `apply`; the served
   * recommender answers it in its own query instead (`recommendWatching`).
   */
  function cartedPins(customerId: number, rules: readonly ActiveRule[]): Promise<Set<number>> {
    return productsInCart(pool, customerId, pinnedProducts(rules));
  }

  const data = (input: RuleInput) => ({
    name: input.name,
    action: input.action,
    productId: input.productId ?? null,
    categoryId: input.categoryId ?? null,
    minPrice: input.minPrice ?? null,
    maxPrice: input.maxPrice ?? null,
    minStock: input.minStock ?? null,
    maxStock: input.maxStock ?? null,
    newWithinDays: input.newWithinDays ?? null,
    factor: input.factor ?? null,
    position: input.position ?? null,
    startsAt: input.startsAt ?? null,
    endsAt: input.endsAt ?? null,
  });

  const positiveId = (id: number) => {
    if (!Number.isInteger(id) || id < 1 || id > MAX_INT) throw bad('id', `id must be a positive integer, got ${id}.`);
  };

  return {
    /** Every rule, oldest first, with whether it is in force now. */
    list: readRules,
    async create(input: RuleInput): Promise<RuleRow> {
      validateRule(input);
      await checkTargets(input);
      const row = toRow((await db.merchandisingRule.create({ data: data(input) })) as StoredRule);
      changed();
      return row;
    },
    /** Replaces a rule's definition. */
    async update(id: number, input: RuleInput): Promise<RuleRow> {
      positiveId(id);
      validateRule(input);
      await checkTargets(input);
      const { count } = await db.merchandisingRule.updateMany({ where: { ruleId: id }, data: data(input) });
      if (count === 0) throw notFound('Merchandising rule', id);
      changed();
      return toRow((await db.merchandisingRule.findUniqueOrThrow({ where: { ruleId: id } })) as StoredRule);
    },
    async delete(id: number): Promise<RuleRow> {
      positiveId(id);
      const row = await db.merchandisingRule.findUnique({ where: { ruleId: id } });
      if (!row) throw notFound('Merchandising rule', id);
      await db.merchandisingRule.delete({ where: { ruleId: id } });
      changed();
      return toRow(row as StoredRule);
    },
    /** The rules in force at `now` (this process's view: re-read on every notified change, at most a second old while the LISTEN is down). */
    async active(now = new Date()): Promise<ActiveRule[]> {
      // The LISTEN opens with the first list served (not when the app is made: a process that serves nothing needs none).
      void notifications.start();
      return (await all()).filter((r) => inWindow(r, now));
    },
    /** The next moment a rule's window opens or closes after `now`, if any (to re-serve watched lists then). */
    async nextBoundary(now = new Date()): Promise<Date | undefined> {
      const times = (await all()).flatMap((r) => [r.startsAt, r.endsAt]).filter((d): d is Date => d !== null && d.getTime() > now.getTime());
      return times.length ? new Date(Math.min(...times.map((d) => d.getTime()))) : undefined;
    },
    cartedPins,
    /** The customer's list after the rules in force (apply.ts); `list` should hold OVERFETCH × `first` candidates. */
    async apply(
      customerId: number,
      list: Recommendation[],
      first: number,
      rules: ActiveRule[],
      now = new Date(),
      carted: Promise<Set<number>> = cartedPins(customerId, rules),
    ): Promise<Recommendation[]> {
      if (rules.length === 0) return list.slice(0, first);
      const [known, inCart] = await Promise.all([factsOf(productsNeeded(list, rules)), carted]);
      const facts = new Map<number, ProductFacts>([...known].map(([id, f]) => [id, { ...f, inCart: inCart.has(id) }]));
      return applyRules(list, rules, facts, first, now);
    },
    /** Calls `listener` after every rule change (this process's at once, others' when notified). Returns the unsubscribe. */
    onChange(listener: RuleListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** Ends the LISTEN connection. */
    close: () => notifications.close(),
  };
}

export type Merchandising = ReturnType<typeof createMerchandising>;
