-- Recommender features, maintained by the Flink job flink/recommendation-features.sql with JDBC upserts keyed
-- like its aggregates (idempotent across restarts from a checkpoint), read by the recommendation API.

-- CreateTable
CREATE TABLE "rec_customer_product" (
    "customer_id" INTEGER NOT NULL,
    "product_id" INTEGER NOT NULL,
    "views" BIGINT NOT NULL,
    "carts" BIGINT NOT NULL,
    "wishlists" BIGINT NOT NULL,
    "purchases" BIGINT NOT NULL,
    "last_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "rec_customer_product_pkey" PRIMARY KEY ("customer_id","product_id")
);

-- CreateTable
CREATE TABLE "rec_customer_category" (
    "customer_id" INTEGER NOT NULL,
    "category_id" INTEGER NOT NULL,
    "score" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "rec_customer_category_pkey" PRIMARY KEY ("customer_id","category_id")
);

-- CreateTable
CREATE TABLE "rec_product_stats" (
    "product_id" INTEGER NOT NULL,
    "views" BIGINT NOT NULL,
    "carts" BIGINT NOT NULL,
    "wishlists" BIGINT NOT NULL,
    "purchases" BIGINT NOT NULL,
    "score" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "rec_product_stats_pkey" PRIMARY KEY ("product_id")
);

-- CreateTable
CREATE TABLE "rec_product_trend" (
    "product_id" INTEGER NOT NULL,
    "window_end" TIMESTAMPTZ(3) NOT NULL,
    "score" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "rec_product_trend_pkey" PRIMARY KEY ("product_id")
);

-- CreateTable
CREATE TABLE "rec_cooccurrence" (
    "product_a" INTEGER NOT NULL,
    "product_b" INTEGER NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "together" BIGINT NOT NULL,

    CONSTRAINT "rec_cooccurrence_pkey" PRIMARY KEY ("product_a","product_b","kind")
);

-- CreateTable
CREATE TABLE "rec_item_support" (
    "product_id" INTEGER NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "support" BIGINT NOT NULL,

    CONSTRAINT "rec_item_support_pkey" PRIMARY KEY ("product_id","kind")
);

-- CreateIndex
CREATE INDEX "rec_customer_product_customer_id_last_at_idx" ON "rec_customer_product"("customer_id", "last_at" DESC);

-- CreateIndex
CREATE INDEX "rec_product_trend_window_end_idx" ON "rec_product_trend"("window_end");

