-- Merchandising rules (src/merchandising): pin, boost, bury and filter products in every served recommendation
-- list, selected by product, category, price range, stock range or "new in the last N days", with an optional
-- time window. Captured by CDC like the shop's tables.

-- CreateEnum
CREATE TYPE "merchandising_action" AS ENUM ('pin', 'boost', 'bury', 'filter');

-- CreateTable
CREATE TABLE "merchandising_rules" (
    "rule_id" SERIAL NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "action" "merchandising_action" NOT NULL,
    "product_id" INTEGER,
    "category_id" INTEGER,
    "min_price" DECIMAL(10,2),
    "max_price" DECIMAL(10,2),
    "min_stock" INTEGER,
    "max_stock" INTEGER,
    "new_within_days" INTEGER,
    "factor" DOUBLE PRECISION,
    "position" INTEGER,
    "starts_at" TIMESTAMPTZ(3),
    "ends_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "merchandising_rules_pkey" PRIMARY KEY ("rule_id")
);

-- Change data capture: updates and deletes carry the full old row.
ALTER TABLE "merchandising_rules" REPLICA IDENTITY FULL;
