/** Defaults and limits of `generate`, apart from the generator so the CLI can declare its options without loading it. */
export const GENERATE_DEFAULTS = { categories: 15, products: 200, customers: 100 } as const;
export const GENERATE_LIMITS = { categories: 1_000, products: 1_000_000, customers: 1_000_000 } as const;
