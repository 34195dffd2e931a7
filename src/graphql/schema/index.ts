import { applyPolicy } from '../authorize.js';
import { builder } from '../builder.js';
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

/** The schema with the access policy applied to every root field and entity field (src/graphql/authorize.ts). */
export const schema = applyPolicy(builder.toSchema({ sortSchema: true }));
