/*
 * The simulation's parameters that the CLI and the API declare (defaults, limits, choices), apart from the
 * simulator itself so that declaring a command's options loads nothing heavy.
 */

export const SIMULATION_DEFAULTS = {
  sessions: 5,
  durationMinutes: 5,
  speed: 1,
  concurrency: 10,
  sessionsPerDay: 300,
  recommendations: 6,
  recommender: 'ours',
} as const;
export const SIMULATION_LIMITS = {
  sessions: 100_000,
  durationMinutes: 24 * 60,
  speed: 100_000,
  concurrency: 200,
  historicalDays: 3650,
  sessionsPerDay: 1_000_000,
  recommendations: 50,
} as const;

/**
 * What a simulation shows its shoppers: ours (the served recommender), a random baseline to compare it with, or
 * experiment: each shopper's variant of the experiment running on the home placement (as the recommendations
 * query serves it), with the impressions and clicks carrying the experiment and variant.
 */
export const SIMULATED_RECOMMENDERS = ['ours', 'random', 'experiment'] as const;
export type SimulatedRecommender = (typeof SIMULATED_RECOMMENDERS)[number];
