import { createReadStream } from 'node:fs';
import { createCsvReader } from '../../src/importer/csv.js';
import type { TrainData } from '../../src/recommend/evaluation/recommender.js';
import { createSplitBuilder, defaultCutoff, EVENT_WEIGHTS, type UserEvent, type UserHistory } from '../../src/recommend/evaluation/split.js';
import type { Exclusion } from '../../src/recommend/models/rank.js';

/** One row of a shared log (shared/datasets/README.md): the columns every model and protocol needs. */
export interface LogEvent {
  user: number;
  item: number;
  type: string;
  at: number;
  category: number | undefined;
}

/** A split ready to evaluate: what to fit on, whom to ask, what their lists leave out, and the train events. */
export interface Protocol {
  name: string;
  train: TrainData;
  tests: { user: number; heldOut: Set<number> }[];
  exclusion: Exclusion;
  /** The events the train part is made of (for recency-weighted popularity). */
  trainEvents: LogEvent[];
}

export const PROTOCOLS = ['reference', 'ours-leave-last-out', 'ours-time', 'session'] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];

/** The log's type names → the evaluation's event types (both logs' vocabularies). */
const TYPE_WEIGHTS: Record<string, number> = {
  view: EVENT_WEIGHTS.view_product,
  wishlist: EVENT_WEIGHTS.add_to_wishlist,
  cart: EVENT_WEIGHTS.add_to_cart,
  purchase: EVENT_WEIGHTS.purchase,
};

/** Reads a shared CSV (header with user, item, type, ts and optionally category); categories become dense ints. */
export async function readLog(path: string): Promise<{ events: LogEvent[]; categories: Map<number, number> }> {
  const reader = createCsvReader();
  const events: LogEvent[] = [];
  const categories = new Map<number, number>();
  const categoryIds = new Map<string, number>();
  let header: string[] | undefined;
  const handle = (records: { fields: string[] }[]) => {
    for (const { fields } of records) {
      if (!header) {
        header = fields;
        for (const c of ['user', 'item', 'type', 'ts']) if (!header.includes(c)) throw new Error(`${path}: the header has no "${c}" column`);
        continue;
      }
      const get = (c: string) => fields[header!.indexOf(c)];
      const item = Number(get('item'));
      const cat = get('category');
      let category: number | undefined;
      if (cat !== undefined && cat !== '') {
        if (!categoryIds.has(cat)) categoryIds.set(cat, categoryIds.size);
        category = categoryIds.get(cat)!;
        categories.set(item, category);
      }
      events.push({ user: Number(get('user')), item, type: get('type')!, at: Date.parse(get('ts')!), category });
    }
  };
  for await (const chunk of createReadStream(path, { encoding: 'utf8' })) handle(reader.push(chunk as string));
  handle(reader.end());
  return { events, categories };
}

function byUser(events: readonly LogEvent[]): Map<number, LogEvent[]> {
  const users = new Map<number, LogEvent[]>();
  for (const e of events) {
    const list = users.get(e.user);
    if (list) list.push(e);
    else users.set(e.user, [e]);
  }
  return users;
}

const catalogueOf = (events: readonly LogEvent[]) => [...new Set(events.map((e) => e.item))].sort((a, b) => a - b);

/**
 * The README's reference protocol: every interaction counts 1; per user, the items of the last timestamp are
 * the test set (minus items already in the user's train part, which the lists exclude anyway) and everything
 * earlier trains; users with an earlier item only.
 */
function reference(events: readonly LogEvent[]): Protocol {
  const users = new Map<number, UserHistory>();
  const tests: Protocol['tests'] = [];
  const trainEvents: LogEvent[] = [];
  for (const [user, list] of byUser(events)) {
    const last = Math.max(...list.map((e) => e.at));
    const train = list.filter((e) => e.at < last);
    if (train.length === 0) continue;
    trainEvents.push(...train);
    const history: UserHistory = new Map(train.map((e) => [e.item, { weight: 1, purchased: true }]));
    users.set(user, history);
    const heldOut = new Set(list.filter((e) => e.at === last && !history.has(e.item)).map((e) => e.item));
    if (heldOut.size > 0) tests.push({ user, heldOut });
  }
  return { name: 'reference', train: { users, catalogue: catalogueOf(events) }, tests, exclusion: 'train-items', trainEvents };
}

/** The project's evaluation (src/recommend/evaluation/split.ts) on the log, weights EVENT_WEIGHTS. */
function ours(events: readonly LogEvent[], kind: 'leave-last-out' | 'time'): Protocol {
  let from = Infinity;
  let to = -Infinity;
  for (const e of events) {
    from = Math.min(from, e.at);
    to = Math.max(to, e.at);
  }
  const cutoff = defaultCutoff(new Date(from), new Date(to));
  const builder = createSplitBuilder(kind === 'time' ? { kind, cutoff } : { kind });
  const trainEvents: LogEvent[] = [];
  for (const [user, list] of byUser(events)) {
    const weighted: UserEvent[] = list
      .filter((e) => TYPE_WEIGHTS[e.type] !== undefined)
      .map((e) => ({ item: e.item, at: e.at, weight: TYPE_WEIGHTS[e.type]! }));
    builder.addUser(user, weighted);
    // The same train rule as split.ts, to know which events the train part holds.
    let until = cutoff.getTime();
    if (kind === 'leave-last-out') {
      until = -Infinity;
      for (const e of weighted) if (e.weight >= EVENT_WEIGHTS.add_to_wishlist) until = Math.max(until, e.at);
      if (until === -Infinity) until = Infinity;
    }
    for (const e of list) if (e.at < until) trainEvents.push(e);
  }
  const split = builder.finish();
  return { name: `ours-${kind}`, train: { users: split.train, catalogue: catalogueOf(events) }, tests: split.tests, exclusion: 'purchased', trainEvents };
}

/** Sessions end after this much inactivity (the usual web-analytics 30 minutes). */
const SESSION_GAP_MS = 30 * 60_000;

/**
 * Next item within a session (for short, sparse logs such as the Taobao slice): each user's last event is
 * the test when an earlier event of the same session exists and its item is new to the user; all other
 * events train, every event counts 1, and the user's train items are excluded.
 */
function session(events: readonly LogEvent[]): Protocol {
  const users = new Map<number, UserHistory>();
  const tests: Protocol['tests'] = [];
  const trainEvents: LogEvent[] = [];
  for (const [user, list] of byUser(events)) {
    list.sort((a, b) => a.at - b.at);
    const last = list[list.length - 1]!;
    const train = list.slice(0, -1);
    if (train.length === 0) continue;
    trainEvents.push(...train);
    const history: UserHistory = new Map(train.map((e) => [e.item, { weight: 1, purchased: true }]));
    users.set(user, history);
    if (last.at - train[train.length - 1]!.at <= SESSION_GAP_MS && !history.has(last.item)) tests.push({ user, heldOut: new Set([last.item]) });
  }
  return { name: 'session', train: { users, catalogue: catalogueOf(events) }, tests, exclusion: 'train-items', trainEvents };
}

export function buildProtocol(name: ProtocolName, events: readonly LogEvent[]): Protocol {
  if (name === 'reference') return reference(events);
  if (name === 'session') return session(events);
  return ours(events, name === 'ours-time' ? 'time' : 'leave-last-out');
}

/** Item popularity with each train event's weight halved every `halfLifeDays` before the newest train event. */
export function recencyPopularity(events: readonly LogEvent[], halfLifeDays: number): Map<number, number> {
  let newest = -Infinity;
  for (const e of events) newest = Math.max(newest, e.at);
  const pop = new Map<number, number>();
  const rate = Math.LN2 / (halfLifeDays * 86_400_000);
  for (const e of events) pop.set(e.item, (pop.get(e.item) ?? 0) + Math.exp(-rate * (newest - e.at)));
  return pop;
}
