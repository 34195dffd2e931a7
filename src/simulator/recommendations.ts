import type { Rng } from '../common/random.js';
import { AppError } from '../errors.js';
import type { Experiments } from '../experiments/experiments.js';
import type { Recommender } from '../recommend/serving.js';
import type { ShownRecommendation } from '../shop/storefront.js';
import type { SimulatedRecommender } from './options.js';
import type { World } from './world.js';

/**
 * The list one shopper is shown. `exclude` holds what is in the customer's cart (ours excludes it, and
 * bought products, by itself); `rng` is the session's, for baselines that draw.
 */
export type ListSource = (customerId: number, first: number, context: { rng: Rng; exclude: ReadonlySet<number> }) => Promise<ShownList>;

/** A list to show, with the experiment arm that served it (experiment runs only). */
export interface ShownList {
  items: ShownRecommendation[];
  arm?: { experimentId: number; variantId: number; recommender: string };
}

const shown = (list: { productId: number; reason: string; source: string }[]): ShownRecommendation[] =>
  list.map((r, i) => ({ productId: r.productId, position: i + 1, reason: r.reason, source: r.source }));

/** How a live simulation shows recommendations: `first` products at the start of every session. */
export interface SessionRecommendations {
  recommender: SimulatedRecommender;
  first: number;
  source: ListSource;
  /** Written into the events' context so a run's uptake can be counted from the events alone. */
  runId?: string;
}

/** Ours: the served recommender (src/recommend/serving.ts, as the composition root configures it) on the features the Flink job maintains. */
function oursSource(recommender: Recommender): ListSource {
  return async (customerId, first) => ({ items: shown(await recommender.recommend(customerId, { first })) });
}

/** Experiment: the shopper's variant of the experiment running on the home placement, as the recommendations query serves it. */
function experimentSource(experiments: Experiments | undefined): ListSource {
  return async (customerId, first) => {
    if (!experiments) throw new AppError('CONFIG_INVALID', 'This simulation was started without the experiments service (the composition root passes it).');
    const served = await experiments.serve(customerId, { first });
    if (!served.arm)
      throw new AppError(
        'CONFLICT',
        'No experiment runs on the home placement: start one (rtrec experiment start <id>) before simulating with --recommender experiment.',
      );
    return { items: shown(served.items), arm: served.arm };
  };
}

/** Random: distinct active, in-stock products drawn uniformly from the catalogue the run loaded. */
function randomSource(world: World): ListSource {
  return async (_customerId, first, { rng, exclude }) => {
    const eligible = world.activeProducts.filter((p) => p.stock > 0 && !exclude.has(p.productId));
    const picked = rng.shuffle([...eligible]).slice(0, first);
    return { items: picked.map((p, i) => ({ productId: p.productId, position: i + 1, reason: 'random baseline', source: 'random' })) };
  };
}

export function createListSource(recommender: SimulatedRecommender, deps: { recommender: Recommender; world: World; experiments?: Experiments }): ListSource {
  if (recommender === 'experiment') return experimentSource(deps.experiments);
  return recommender === 'ours' ? oursSource(deps.recommender) : randomSource(deps.world);
}
