/*
 * Every GraphQL operation the dashboard sends, in one place: tests/unit/dashboard.test.ts validates each against
 * the server's schema, so a schema change that breaks the dashboard fails the tests, not the page.
 */

/** The tables the change stream follows (the API's captured tables) with each one's key field. */
export const CHANGE_TABLES = {
  categories: 'categoryId',
  products: 'productId',
  customers: 'customerId',
  orders: 'orderId',
  order_items: 'orderItemId',
  carts: 'cartId',
  wishlists: 'wishlistId',
  payments: 'paymentId',
  shipments: 'shipmentId',
  behavior_events: 'eventId',
  experiments: 'experimentId',
  experiment_variants: 'variantId',
  experiment_assignments: 'experimentId',
  merchandising_rules: 'ruleId',
} as const;
export type ChangeTable = keyof typeof CHANGE_TABLES;

export const TABLE_CHANGED = /* GraphQL */ `
  subscription DashboardTableChanged($table: String!) {
    tableChanged(table: $table) { table operation committedAt before after }
  }
`;

const REVENUE_FIELDS = 'windowStart windowEnd windowSeconds revenue orderCount avgOrderValue';
export const REVENUE_STATS = /* GraphQL */ `
  query DashboardRevenueStats {
    revenueStats(first: 60) { edges { node { ${REVENUE_FIELDS} } } }
  }
`;
export const REVENUE_UPDATED = /* GraphQL */ `
  subscription DashboardRevenueUpdated { revenueUpdated { ${REVENUE_FIELDS} } }
`;

const TOP_FIELDS = 'rank productId quantity revenue product { name }';
export const TOP_PRODUCTS = /* GraphQL */ `
  query DashboardTopProducts($window: TopProductsWindow!, $by: RankBy!) {
    topProducts(window: $window, by: $by, first: 10) { edges { node { windowStart windowEnd ${TOP_FIELDS} } } }
  }
`;
export const TOP_PRODUCTS_UPDATED = /* GraphQL */ `
  subscription DashboardTopProductsUpdated($window: TopProductsWindow!, $by: RankBy!) {
    topProductsUpdated(window: $window, by: $by) { windowStart windowEnd products { ${TOP_FIELDS} } }
  }
`;

const ALERT_FIELDS = 'alertId rule customerId orderId amount orderCount detail eventTime detectedAt';
export const FRAUD_ALERTS = /* GraphQL */ `
  query DashboardFraudAlerts { fraudAlerts(first: 20) { edges { node { ${ALERT_FIELDS} } } } }
`;
export const FRAUD_ALERT = /* GraphQL */ `
  subscription DashboardFraudAlert { fraudAlert { ${ALERT_FIELDS} } }
`;

export const SIMULATION_RUNS = /* GraphQL */ `
  query DashboardSimulationRuns($first: Int!) {
    simulationRuns(first: $first) {
      edges { node { id mode status progress sessionsDone sessionsTotal eventsWritten params error startedAt finishedAt } }
    }
  }
`;
export const SIMULATION_UPTAKE = /* GraphQL */ `
  query DashboardUptake($first: Int!) {
    simulationRuns(first: $first) {
      edges { node { id status startedAt recommendationUptake { recommender lists impressions clicks clickThroughRate clickedProductsBought conversionRate } } }
    }
  }
`;
export const SIMULATE = /* GraphQL */ `
  mutation DashboardSimulate($sessions: Int!, $durationMinutes: Float!, $speed: Float!, $recommendations: Int!, $recommender: SimulatedRecommender!) {
    simulate(sessions: $sessions, durationMinutes: $durationMinutes, speed: $speed, recommendations: $recommendations, recommender: $recommender) {
      id status
    }
  }
`;
export const CANCEL_SIMULATION = /* GraphQL */ `
  mutation DashboardCancelSimulation($id: ID!) { cancelSimulation(id: $id) { id status } }
`;

export const RECENT_CUSTOMERS = /* GraphQL */ `
  query DashboardRecentCustomers { behaviorEvents(first: 40, order: DESC) { edges { node { customerId } } } }
`;
export const CUSTOMER = /* GraphQL */ `
  query DashboardCustomer($customerId: Int!) {
    customer(customerId: $customerId) { customerId firstName lastName }
    behaviorEvents(customerId: $customerId, first: 15, order: DESC) { edges { node { eventId eventType occurredAt productId product { name } } } }
  }
`;
export const CUSTOMER_EVENTS = /* GraphQL */ `
  subscription DashboardCustomerEvents($customerId: Int!) {
    behaviorEvent(customerId: $customerId) { committedAt after { eventId eventType occurredAt productId product { name } } }
  }
`;
export const RECOMMENDATIONS_UPDATED = /* GraphQL */ `
  subscription DashboardRecommendations($customerId: Int!) {
    recommendationsUpdated(customerId: $customerId, first: 10) { computedAt recommendations { productId score reason product { name price } } }
  }
`;
export const VIEW_PRODUCT = /* GraphQL */ `
  mutation DashboardViewProduct($customerId: Int!, $productId: Int!) { viewProduct(customerId: $customerId, productId: $productId) { eventId } }
`;
