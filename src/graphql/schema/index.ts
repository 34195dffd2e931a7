import { applyPolicy } from '../authorize.js';
import { builder } from '../builder.js';
import { answerPreloadedRelations } from '../preloaded.js';
import './scalars.js';
import './enums.js';
import './models.js';
import './storefront.js';
import './admin.js';
import './subscriptions.js';
import './analytics.js';
import './recommendations.js';
import './experiments.js';
import './merchandising.js';

/**
 * The schema with the access policy applied to every root field and entity field (src/graphql/authorize.ts), on top
 * of to-one relations answered from the rows the entity reader loaded (src/graphql/preloaded.ts).
 */
export const schema = applyPolicy(answerPreloadedRelations(builder.toSchema({ sortSchema: true })));
