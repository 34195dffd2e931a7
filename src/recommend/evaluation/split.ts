/**
 * Train/test splits of an interaction history. Histories arrive one user at a time (the loader streams them
 * ordered by user), so the split keeps only per-(user, item) aggregates, never the raw events.
 */

/** Interaction weights: how strongly each kind of event says "this user wants this item". */
export const EVENT_WEIGHTS = { view_product: 1, add_to_wishlist: 2, add_to_cart: 3, purchase: 5 } as const;
export type InteractionType = keyof typeof EVENT_WEIGHTS;
export const INTERACTION_TYPES = Object.keys(EVENT_WEIGHTS) as InteractionType[];

/** Wishlist, cart and purchase events make an item a held-out target; a view alone does not. */
const POSITIVE_WEIGHT = EVENT_WEIGHTS.add_to_wishlist;
const PURCHASE_WEIGHT = EVENT_WEIGHTS.purchase;

export interface UserEvent {
  item: number;
  /** Epoch milliseconds. */
  at: number;
  weight: number;
}

/** What a user did with one item in the train period. */
export interface ItemHistory {
  /** Sum of the event weights. */
  weight: number;
  purchased: boolean;
}

export type UserHistory = Map<number, ItemHistory>;

/** One test user: recommendations are asked for as of `asOf` and scored against `heldOut`. */
export interface TestCase {
  user: number;
  asOf: Date;
  heldOut: Set<number>;
}

export type SplitSpec =
  /** Everything before `cutoff` trains, everything from it on tests (the same moment for every user). */
  | { kind: 'time'; cutoff: Date }
  /**
   * Each user's last positive interaction is held out and only what they did before it trains; other users'
   * later events stay in train (the classic protocol, not time-consistent across users).
   */
  | { kind: 'leave-last-out' }
  /**
   * Next item within a session: each user's last moment is held out when the moment before it is at most
   * `gapMinutes` earlier (the same visit) and its items are new to the user (any event type counts: a view of
   * a new product is what a session-based recommender should predict); what the user did before trains.
   */
  | { kind: 'session'; gapMinutes: number };

export type SplitKind = SplitSpec['kind'];
export const SPLIT_KINDS: readonly SplitKind[] = ['time', 'leave-last-out', 'session'];
/** The session split's default gap between two actions of one visit (the shop's session timeout). */
export const SESSION_GAP_MINUTES = 30;

export interface Split {
  spec: SplitSpec;
  /** Train interactions of every user (including users that are not tested). */
  train: Map<number, UserHistory>;
  tests: TestCase[];
  stats: {
    users: number;
    events: number;
    trainEvents: number;
    /** Users with at least one interaction in both parts. */
    usersInBothParts: number;
    heldOutItems: number;
  };
}

function aggregate(events: readonly UserEvent[]): UserHistory {
  const history: UserHistory = new Map();
  for (const e of events) {
    const h = history.get(e.item);
    if (h) {
      h.weight += e.weight;
      h.purchased ||= e.weight >= PURCHASE_WEIGHT;
    } else {
      history.set(e.item, { weight: e.weight, purchased: e.weight >= PURCHASE_WEIGHT });
    }
  }
  return history;
}

/** Distinct positive items of `events` that the user had not already bought in train. */
function heldOutItems(events: readonly UserEvent[], train: UserHistory): Set<number> {
  const items = new Set<number>();
  for (const e of events) if (e.weight >= POSITIVE_WEIGHT && !train.get(e.item)?.purchased) items.add(e.item);
  return items;
}

/** Splits one user's events (any order) into train events, test events and the moment recommendations are asked for. */
function splitUser(events: readonly UserEvent[], spec: SplitSpec): { train: UserEvent[]; test: UserEvent[]; asOf: Date | null } {
  if (spec.kind === 'time') {
    const cutoff = spec.cutoff.getTime();
    return { train: events.filter((e) => e.at < cutoff), test: events.filter((e) => e.at >= cutoff), asOf: spec.cutoff };
  }
  if (spec.kind === 'session') {
    let last = -Infinity;
    for (const e of events) if (e.at > last) last = e.at;
    let previous = -Infinity;
    for (const e of events) if (e.at < last && e.at > previous) previous = e.at;
    if (previous === -Infinity || last - previous > spec.gapMinutes * 60_000) return { train: [...events], test: [], asOf: null };
    const train = events.filter((e) => e.at < last);
    const seen = new Set(train.map((e) => e.item));
    return { train, test: events.filter((e) => e.at === last && !seen.has(e.item)), asOf: new Date(last) };
  }
  let last = -Infinity;
  for (const e of events) if (e.weight >= POSITIVE_WEIGHT && e.at > last) last = e.at;
  if (last === -Infinity) return { train: [...events], test: [], asOf: null };
  return { train: events.filter((e) => e.at < last), test: events.filter((e) => e.at === last && e.weight >= POSITIVE_WEIGHT), asOf: new Date(last) };
}

/**
 * Builds a split from users' histories fed one user at a time. A user is tested when they have interactions
 * in both parts and at least one held-out item: a distinct wishlisted, carted or purchased item of the test
 * part that they had not already bought in train.
 */
export function createSplitBuilder(spec: SplitSpec) {
  const split: Split = { spec, train: new Map(), tests: [], stats: { users: 0, events: 0, trainEvents: 0, usersInBothParts: 0, heldOutItems: 0 } };
  return {
    addUser(user: number, events: readonly UserEvent[]): void {
      if (events.length === 0) return;
      split.stats.users++;
      split.stats.events += events.length;
      const parts = splitUser(events, spec);
      split.stats.trainEvents += parts.train.length;
      if (parts.train.length === 0) return;
      const train = aggregate(parts.train);
      split.train.set(user, train);
      if (parts.test.length === 0 || !parts.asOf) return;
      split.stats.usersInBothParts++;
      const heldOut = spec.kind === 'session' ? new Set(parts.test.map((e) => e.item)) : heldOutItems(parts.test, train);
      if (heldOut.size === 0) return;
      split.stats.heldOutItems += heldOut.size;
      split.tests.push({ user, asOf: parts.asOf, heldOut });
    },
    finish(): Split {
      return split;
    },
  };
}

/** Convenience for in-memory histories (tests, small logs): split every user's events at once. */
export function splitHistories(histories: Iterable<[number, readonly UserEvent[]]>, spec: SplitSpec): Split {
  const builder = createSplitBuilder(spec);
  for (const [user, events] of histories) builder.addUser(user, events);
  return builder.finish();
}

/** The default time cutoff: the last `testShare` of the history's time span is the test period. */
export function defaultCutoff(from: Date, to: Date, testShare = 0.2): Date {
  return new Date(from.getTime() + (to.getTime() - from.getTime()) * (1 - testShare));
}
