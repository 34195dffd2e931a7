-- Online experiments (src/experiments): experiments with their variants (recommender configurations and traffic
-- weights), the recorded sticky assignment of each customer served and the live per-variant results the Flink job
-- flink/experiment-results.sql upserts (experiment_results, not captured). One running experiment per placement is
-- enforced by the unique index on running_placement (set while running, NULL otherwise). Captured by CDC like the
-- shop's tables, so their changes carry both images.

-- CreateEnum
CREATE TYPE "experiment_status" AS ENUM ('draft', 'running', 'stopped');

-- CreateTable
CREATE TABLE "experiments" (
    "experiment_id" SERIAL NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "placement" VARCHAR(40) NOT NULL DEFAULT 'home',
    "status" "experiment_status" NOT NULL DEFAULT 'draft',
    "running_placement" VARCHAR(40),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "stopped_at" TIMESTAMPTZ(3),

    CONSTRAINT "experiments_pkey" PRIMARY KEY ("experiment_id")
);

-- CreateTable
CREATE TABLE "experiment_variants" (
    "variant_id" SERIAL NOT NULL,
    "experiment_id" INTEGER NOT NULL,
    "name" VARCHAR(40) NOT NULL,
    "position" INTEGER NOT NULL,
    "recommender" VARCHAR(40) NOT NULL,
    "params" JSONB NOT NULL DEFAULT '{}',
    "weight" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "experiment_variants_pkey" PRIMARY KEY ("variant_id")
);

-- CreateTable
CREATE TABLE "experiment_assignments" (
    "experiment_id" INTEGER NOT NULL,
    "customer_id" INTEGER NOT NULL,
    "variant_id" INTEGER NOT NULL,
    "assigned_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "experiment_assignments_pkey" PRIMARY KEY ("experiment_id","customer_id")
);

-- CreateTable
CREATE TABLE "experiment_results" (
    "experiment_id" INTEGER NOT NULL,
    "variant_id" INTEGER NOT NULL,
    "impressions" BIGINT NOT NULL,
    "clicks" BIGINT NOT NULL,
    "carts" BIGINT NOT NULL,
    "purchases" BIGINT NOT NULL,
    "revenue" DECIMAL(14,2) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "experiment_results_pkey" PRIMARY KEY ("experiment_id","variant_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "experiments_name_key" ON "experiments"("name");

-- CreateIndex
CREATE UNIQUE INDEX "experiments_running_placement_key" ON "experiments"("running_placement");

-- CreateIndex
CREATE UNIQUE INDEX "experiment_variants_experiment_id_name_key" ON "experiment_variants"("experiment_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "experiment_variants_experiment_id_position_key" ON "experiment_variants"("experiment_id", "position");

-- CreateIndex
CREATE INDEX "experiment_assignments_variant_id_idx" ON "experiment_assignments"("variant_id");

-- AddForeignKey
ALTER TABLE "experiment_variants" ADD CONSTRAINT "experiment_variants_experiment_id_fkey" FOREIGN KEY ("experiment_id") REFERENCES "experiments"("experiment_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "experiment_assignments" ADD CONSTRAINT "experiment_assignments_experiment_id_fkey" FOREIGN KEY ("experiment_id") REFERENCES "experiments"("experiment_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "experiment_assignments" ADD CONSTRAINT "experiment_assignments_variant_id_fkey" FOREIGN KEY ("variant_id") REFERENCES "experiment_variants"("variant_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Change data capture: updates and deletes carry the full old row.
ALTER TABLE "experiments" REPLICA IDENTITY FULL;
ALTER TABLE "experiment_variants" REPLICA IDENTITY FULL;
ALTER TABLE "experiment_assignments" REPLICA IDENTITY FULL;
