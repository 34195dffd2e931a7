import type { AccountChange } from './accounts.js';
import type { ActionType } from './behaviour.js';

/** Behaviour events a run records besides the shopper's own actions. */
export type RecommendationEventType = 'recommendation_impression' | 'recommendation_click';

/**
 * How customers took up the recommendations they were shown: impressions and clicks, and what the clicks
 * led to. Conversion is per click: a clicked product bought (paid order) later in the same session.
 */
export interface RecommendationUptake {
  /** What produced the lists: ours (the served recommender) or a baseline (random). */
  recommender: string;
  /** Lists shown (sessions that saw at least one recommendation). */
  lists: number;
  impressions: number;
  clicks: number;
  /** clicks / impressions (0 without impressions). */
  clickThroughRate: number;
  /** Paid orders containing a product the customer clicked earlier in the session. */
  ordersWithClickedProduct: number;
  /** Clicked products bought later in the same session (each counted once per session). */
  clickedProductsBought: number;
  /** clickedProductsBought / clicks (0 without clicks). */
  conversionRate: number;
}

/** Rates from the counts; shared by the in-memory run stats and the count from recorded events. */
export function withRates(counts: Omit<RecommendationUptake, 'clickThroughRate' | 'conversionRate'>): RecommendationUptake {
  return {
    ...counts,
    clickThroughRate: counts.impressions ? counts.clicks / counts.impressions : 0,
    conversionRate: counts.clicks ? counts.clickedProductsBought / counts.clicks : 0,
  };
}

/** "CTR 9.1% (27/297)", for progress lines. */
export function formatUptake(u: Pick<RecommendationUptake, 'clicks' | 'impressions' | 'clickThroughRate'>): string {
  return `CTR ${(u.clickThroughRate * 100).toFixed(1)}% (${u.clicks}/${u.impressions})`;
}

/** What a run did: actions attempted by the weights, and what each attempt became. */
export class RunStats {
  readonly attempted: Record<string, number> = {};
  readonly performed: Record<string, number> = {};
  readonly skipped: Record<string, number> = {};
  sessions = 0;
  ordersPaid = 0;
  ordersFailed = 0;
  /** Recommendation lists shown, and sessions where the recommender had nothing to show. */
  recommendationLists = 0;
  emptyRecommendationLists = 0;
  ordersWithClickedProduct = 0;
  clickedProductsBought = 0;
  /** Sign-ups and profile changes (live runs). */
  readonly accountChanges: Partial<Record<AccountChange, number>> = {};

  accountChange(change: AccountChange): void {
    this.accountChanges[change] = (this.accountChanges[change] ?? 0) + 1;
  }

  attempt(type: ActionType): void {
    this.attempted[type] = (this.attempted[type] ?? 0) + 1;
  }
  perform(type: ActionType | RecommendationEventType, count = 1): void {
    this.performed[type] = (this.performed[type] ?? 0) + count;
  }
  skip(type: ActionType | RecommendationEventType, reason: string): void {
    const key = `${type}:${reason}`;
    this.skipped[key] = (this.skipped[key] ?? 0) + 1;
  }
  get events(): number {
    return Object.values(this.performed).reduce((a, b) => a + b, 0);
  }
  uptake(recommender: string): RecommendationUptake {
    return withRates({
      recommender,
      lists: this.recommendationLists,
      impressions: this.performed.recommendation_impression ?? 0,
      clicks: this.performed.recommendation_click ?? 0,
      ordersWithClickedProduct: this.ordersWithClickedProduct,
      clickedProductsBought: this.clickedProductsBought,
    });
  }
}

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;

/** One line on how the shoppers took up the recommendations, for the summary and the demo. */
export function uptakeLine(r: RecommendationUptake & { perSession: number }): string {
  return (
    `Recommendations (${r.recommender}, ${r.perSession} per session): ${r.impressions} impressions in ${r.lists} lists, ${r.clicks} clicks, ` +
    `click-through ${percent(r.clickThroughRate)}; ${r.ordersWithClickedProduct} paid orders held a clicked product ` +
    `(${r.clickedProductsBought} of ${r.clicks} clicked products bought, conversion ${percent(r.conversionRate)})`
  );
}
