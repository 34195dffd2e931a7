-- Recommendations shown to a customer and the ones they opened, as behaviour events of their own.
-- AlterEnum
ALTER TYPE "behavior_event_type" ADD VALUE 'recommendation_impression';
ALTER TYPE "behavior_event_type" ADD VALUE 'recommendation_click';
