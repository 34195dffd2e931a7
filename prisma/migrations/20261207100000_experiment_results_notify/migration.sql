-- The Flink job flink/experiment-results.sql wrote an experiment's live results: notify the API on the channel
-- `rtrec_experiment_results` with the experiment id, so experimentUpdated pushes the committed counts
-- (src/experiments/notify.ts). Notifications with the same payload in one transaction are delivered once.
CREATE FUNCTION "rtrec_notify_experiment_results"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('rtrec_experiment_results', NEW.experiment_id::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER "experiment_results_notify" AFTER INSERT OR UPDATE ON "experiment_results"
  FOR EACH ROW EXECUTE FUNCTION "rtrec_notify_experiment_results"();
