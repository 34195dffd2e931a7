-- placeOrder's idempotency keys: the order a customer's key produced and what was asked for, so the same key
-- returns the same order (no second charge) and a key reused for a different request is refused.

-- CreateTable
CREATE TABLE "order_requests" (
    "customer_id" INTEGER NOT NULL,
    "idempotency_key" VARCHAR(100) NOT NULL,
    "order_id" INTEGER NOT NULL,
    "fingerprint" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "order_requests_pkey" PRIMARY KEY ("customer_id","idempotency_key")
);

-- CreateIndex
CREATE UNIQUE INDEX "order_requests_order_id_key" ON "order_requests"("order_id");

-- AddForeignKey
ALTER TABLE "order_requests" ADD CONSTRAINT "order_requests_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("order_id") ON DELETE CASCADE ON UPDATE CASCADE;
