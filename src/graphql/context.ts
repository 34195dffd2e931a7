import type pg from 'pg';
import type { ResetReport, ResetScope } from '../app/reset.js';
import type { Db } from '../database/database.js';
import type { EntityReader } from '../database/entity-reader.js';
import type { Experiments } from '../experiments/experiments.js';
import type { ChangePubSub } from '../kafka/pubsub.js';
import type { ChangeHistory } from '../kafka/resume.js';
import type { Logger } from '../logging/logger.js';
import type { Merchandising } from '../merchandising/rules.js';
import type { LiveRecommendations } from '../recommend/live.js';
import type { RequestAuth } from '../security/policy.js';
import type { Storefront } from '../shop/storefront.js';
import type { SimulationService } from '../simulator/service.js';

/** Per-request GraphQL context: explicit dependencies, nothing global. */
export interface GraphQLContext {
  db: Db;
  pool: pg.Pool;
  /** Entity reads as one SQL statement each (src/database/entity-reader.ts). */
  reader: EntityReader;
  storefront: Storefront;
  simulations: SimulationService;
  /** clearData: the shop's data and the state derived from it, reset together (src/app/reset.ts). */
  resetShopData(scope: ResetScope): Promise<ResetReport>;
  logger: Logger;
  /** Row changes captured by CDC, for subscriptions. */
  changes: ChangePubSub;
  /** Kafka's history of the topics, for subscriptions that resume from a cursor (`after`). */
  history: ChangeHistory;
  /** Cached, live-updated recommendation lists (src/recommend/live.ts). */
  recommendations: LiveRecommendations;
  /** Online experiments of recommender configurations (src/experiments). */
  experiments: Experiments;
  /** Merchandising rules applied to every served list (src/merchandising). */
  merchandising: Merchandising;
  /** The caller (verified bearer token, or anonymous); src/graphql/authorize.ts applies the policy with it. */
  auth: RequestAuth;
}
