-- Recency-weighted popularity (forward exponential decay, maintained by flink/recommendation-features.sql):
-- recent_score = Σ weight · 2^((t − epoch) / half-life). Ranking by it equals ranking by Σ weight · 2^(−(now − t) / half-life).
ALTER TABLE "rec_product_stats" ADD COLUMN "recent_score" DOUBLE PRECISION NOT NULL DEFAULT 0;
CREATE INDEX "rec_product_stats_recent_score_idx" ON "rec_product_stats"("recent_score" DESC);

-- The served ranker's weights, fitted on the shop's own history by `rtrec train` (src/recommend/ranker.ts).
CREATE TABLE "rec_ranker" (
    "name" TEXT NOT NULL,
    "weights" JSONB NOT NULL,
    "metrics" JSONB NOT NULL,
    "trained_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "rec_ranker_pkey" PRIMARY KEY ("name")
);

-- Learned item neighbours (item-kNN, shrunk cosine on the binary customer × product interactions of
-- rec_customer_product), written by `rtrec train`; serving reads each recent item's strongest ones.
CREATE TABLE "rec_model_neighbours" (
    "model" TEXT NOT NULL,
    "product_a" INTEGER NOT NULL,
    "product_b" INTEGER NOT NULL,
    "score" DOUBLE PRECISION NOT NULL,
    CONSTRAINT "rec_model_neighbours_pkey" PRIMARY KEY ("model","product_a","product_b")
);
CREATE INDEX "rec_model_neighbours_model_product_a_score_idx" ON "rec_model_neighbours"("model", "product_a", "score" DESC);
