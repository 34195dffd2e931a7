/*
 * The tuned defaults of the collaborative-filtering models (bench/RESULTS.md, "Recommendation models on real logs" has how they were chosen), apart
 * from the models so the CLI can print them in --help without loading any numeric code.
 */

/** Item-kNN: shrink 200 as the reference protocol's strongest cosine; 200 neighbours per item. */
export const ITEM_KNN_DEFAULTS = { neighbours: 200, shrink: 200 } as const;

/** EASE: λ 500 as the reference. */
export const EASE_DEFAULTS = { lambda: 500 } as const;

/**
 * Items EASE models by default (the most popular), per backend: numpy inverts 20,833 items in ~4.5 minutes on
 * two cores; ml-matrix takes 59 s at 2,000 (190 s at 3,000) and loses 1% HR@10 against all items on the grocery log.
 */
export const EASE_ITEMS = { numpy: 20_000, js: 2_000 } as const;

/** The largest item count EASE accepts: a 20k×20k Float64 matrix is 3.2 GB, and numpy holds two of them. */
export const EASE_MAX_ITEMS = 20_000;

/** iALS: 64 factors, regularisation 0.05, confidence 1 + 10·r, 15 passes of 3 conjugate-gradient steps. */
export const IALS_DEFAULTS = { factors: 64, regularization: 0.05, alpha: 10, iterations: 15, cgSteps: 3, seed: 1 } as const;

/** All of them, for the CLI's help texts. */
export const MODEL_DEFAULTS = {
  knn: ITEM_KNN_DEFAULTS,
  ease: EASE_DEFAULTS,
  easeItems: EASE_ITEMS,
  easeMaxItems: EASE_MAX_ITEMS,
  ials: IALS_DEFAULTS,
} as const;
