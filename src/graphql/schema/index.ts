import { builder } from '../builder.js';
import './scalars.js';
import './enums.js';
import './models.js';
import './storefront.js';
import './admin.js';
import './subscriptions.js';
import './analytics.js';
import './recommendations.js';

export const schema = builder.toSchema({ sortSchema: true });
