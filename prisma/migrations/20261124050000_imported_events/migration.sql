-- CreateTable
CREATE TABLE "imported_events" (
    "id" BIGSERIAL NOT NULL,
    "user_key" VARCHAR(200) NOT NULL,
    "item_key" VARCHAR(200) NOT NULL,
    "event_type" VARCHAR(32) NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "price" DECIMAL(12,2),
    "category" VARCHAR(200),
    "imported_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "imported_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "imported_events_occurred_at_idx" ON "imported_events"("occurred_at");

