-- The manual order (docs/decisions/0027). The column is added empty, filled, then made NOT NULL.
ALTER TABLE "tasks" ADD COLUMN "position" text collate "C";--> statement-breakpoint
-- Existing tasks get keys in their creation order, per parent (top-level tasks per user).
DO $backfill$
DECLARE
  r record;
  previous text;
  last_group text;
BEGIN
  FOR r IN
    SELECT id, user_id::text || '/' || coalesce(parent_id::text, '') AS siblings
      FROM tasks ORDER BY user_id, parent_id NULLS FIRST, created_at, id
  LOOP
    IF last_group IS DISTINCT FROM r.siblings THEN
      previous := NULL;
      last_group := r.siblings;
    END IF;
    previous := task_position_between(previous, NULL);
    UPDATE tasks SET position = previous WHERE id = r.id;
  END LOOP;
END
$backfill$;--> statement-breakpoint
ALTER TABLE "tasks" ALTER COLUMN "position" SET NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "tasks_top_position_idx" ON "tasks" USING btree ("user_id","position") WHERE "tasks"."parent_id" is null and "tasks"."deleted_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "tasks_sub_position_idx" ON "tasks" USING btree ("parent_id","position") WHERE "tasks"."parent_id" is not null and "tasks"."deleted_at" is null;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_position_length" CHECK (char_length("tasks"."position") between 2 and 512);