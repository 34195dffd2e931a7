-- DropIndex
DROP INDEX "behavior_events_event_type_idx";

