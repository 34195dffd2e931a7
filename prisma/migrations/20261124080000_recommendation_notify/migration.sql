-- A customer's recommendation inputs changed: Flink wrote their features, or their cart changed. The API
-- LISTENs on this channel to drop that customer's cached lists and push new ones to subscribers
-- (src/recommend/live.ts). Notifications with the same payload in one transaction are delivered once.
CREATE FUNCTION "rtrec_notify_customer_inputs"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('rtrec_customer_inputs', OLD.customer_id::text);
  ELSE
    PERFORM pg_notify('rtrec_customer_inputs', NEW.customer_id::text);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "rec_customer_product_inputs" AFTER INSERT OR UPDATE ON "rec_customer_product"
  FOR EACH ROW EXECUTE FUNCTION "rtrec_notify_customer_inputs"();

CREATE TRIGGER "rec_customer_category_inputs" AFTER INSERT OR UPDATE ON "rec_customer_category"
  FOR EACH ROW EXECUTE FUNCTION "rtrec_notify_customer_inputs"();

CREATE TRIGGER "carts_inputs" AFTER INSERT OR UPDATE OR DELETE ON "carts"
  FOR EACH ROW EXECUTE FUNCTION "rtrec_notify_customer_inputs"();
