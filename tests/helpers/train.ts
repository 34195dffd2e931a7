import type { TrainData } from '../../src/recommend/evaluation/recommender.js';
import type { UserHistory } from '../../src/recommend/evaluation/split.js';

/** Train data from user → item → weight; `bought` marks purchases. */
export function trainData(users: Record<number, Record<number, number>>, catalogue: number[] = [], bought: Record<number, number[]> = {}): TrainData {
  const map = new Map<number, UserHistory>();
  for (const [user, items] of Object.entries(users)) {
    map.set(
      Number(user),
      new Map(Object.entries(items).map(([item, weight]) => [Number(item), { weight, purchased: (bought[Number(user)] ?? []).includes(Number(item)) }])),
    );
  }
  return { users: map, catalogue };
}
