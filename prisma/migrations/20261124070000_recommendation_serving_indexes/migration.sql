-- Serving reads a bounded number of rows per source through these (src/recommend/serving.ts, bench:recommend):
-- the strongest co-occurrences of an item per kind, and the most popular / trending products.

-- CreateIndex
CREATE INDEX "rec_product_stats_score_idx" ON "rec_product_stats"("score" DESC);

-- CreateIndex
CREATE INDEX "rec_product_trend_score_idx" ON "rec_product_trend"("score" DESC);

-- CreateIndex
CREATE INDEX "rec_cooccurrence_product_a_kind_together_product_b_idx" ON "rec_cooccurrence"("product_a", "kind", "together" DESC, "product_b");
