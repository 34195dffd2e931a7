-- A merchandising rule was created, changed or deleted (through the API, `rtrec rule`, another API process or plain
-- SQL): notify on the channel `rtrec_merchandising_rules` with the rule id, so every serving process re-reads the
-- rules at once and re-serves the watched lists (src/merchandising/rules.ts), instead of polling the table.
CREATE FUNCTION "rtrec_notify_merchandising_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify('rtrec_merchandising_rules', '0');
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('rtrec_merchandising_rules', OLD.rule_id::text);
  ELSE
    PERFORM pg_notify('rtrec_merchandising_rules', NEW.rule_id::text);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "merchandising_rules_notify" AFTER INSERT OR UPDATE OR DELETE ON "merchandising_rules"
  FOR EACH ROW EXECUTE FUNCTION "rtrec_notify_merchandising_rules"();
CREATE TRIGGER "merchandising_rules_truncate_notify" AFTER TRUNCATE ON "merchandising_rules"
  FOR EACH STATEMENT EXECUTE FUNCTION "rtrec_notify_merchandising_rules"();
