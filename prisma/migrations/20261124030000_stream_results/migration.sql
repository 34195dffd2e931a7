-- Results of the Flink jobs in flink/ (fraud detection, revenue statistics, top products), written with JDBC
-- upserts keyed like the jobs' output topics, so a job restored from a checkpoint rewrites rows instead of adding them.

-- CreateTable
CREATE TABLE "fraud_alerts" (
    "alert_id" VARCHAR(64) NOT NULL,
    "rule" VARCHAR(32) NOT NULL,
    "customer_id" INTEGER,
    "order_id" INTEGER NOT NULL,
    "amount" DECIMAL(12,2) NOT NULL,
    "order_count" INTEGER NOT NULL,
    "detail" TEXT NOT NULL,
    "event_time" TIMESTAMPTZ(3) NOT NULL,
    "detected_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "fraud_alerts_pkey" PRIMARY KEY ("alert_id")
);

-- CreateTable
CREATE TABLE "revenue_stats" (
    "window_start" TIMESTAMPTZ(3) NOT NULL,
    "window_end" TIMESTAMPTZ(3) NOT NULL,
    "window_seconds" INTEGER NOT NULL,
    "revenue" DECIMAL(14,2) NOT NULL,
    "order_count" INTEGER NOT NULL,
    "avg_order_value" DECIMAL(12,2) NOT NULL,
    "previous_revenue" DECIMAL(14,2),
    "revenue_change" DECIMAL(14,2),
    "revenue_change_pct" DOUBLE PRECISION,

    CONSTRAINT "revenue_stats_pkey" PRIMARY KEY ("window_seconds","window_start")
);

-- CreateTable
CREATE TABLE "top_products" (
    "window_size" VARCHAR(8) NOT NULL,
    "window_start" TIMESTAMPTZ(3) NOT NULL,
    "window_end" TIMESTAMPTZ(3) NOT NULL,
    "category_id" INTEGER NOT NULL,
    "ranked_by" VARCHAR(16) NOT NULL,
    "rank" INTEGER NOT NULL,
    "product_id" INTEGER NOT NULL,
    "quantity" INTEGER NOT NULL,
    "revenue" DECIMAL(14,2) NOT NULL,

    CONSTRAINT "top_products_pkey" PRIMARY KEY ("window_size","window_start","category_id","ranked_by","rank")
);

-- CreateIndex
CREATE INDEX "fraud_alerts_event_time_idx" ON "fraud_alerts"("event_time" DESC);

-- CreateIndex
CREATE INDEX "fraud_alerts_customer_id_idx" ON "fraud_alerts"("customer_id");

-- CreateIndex
CREATE INDEX "top_products_window_size_category_id_ranked_by_window_start_idx" ON "top_products"("window_size", "category_id", "ranked_by", "window_start" DESC);

