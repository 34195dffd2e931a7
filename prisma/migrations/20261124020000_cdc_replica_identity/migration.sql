-- Change data capture: every update and delete carries the full old row ("before") in the WAL, so
-- Debezium's envelopes hold both sides for every shop table and the behaviour-event log.
ALTER TABLE "categories" REPLICA IDENTITY FULL;
ALTER TABLE "products" REPLICA IDENTITY FULL;
ALTER TABLE "customers" REPLICA IDENTITY FULL;
ALTER TABLE "orders" REPLICA IDENTITY FULL;
ALTER TABLE "order_items" REPLICA IDENTITY FULL;
ALTER TABLE "carts" REPLICA IDENTITY FULL;
ALTER TABLE "wishlists" REPLICA IDENTITY FULL;
ALTER TABLE "payments" REPLICA IDENTITY FULL;
ALTER TABLE "shipments" REPLICA IDENTITY FULL;
ALTER TABLE "behavior_events" REPLICA IDENTITY FULL;
