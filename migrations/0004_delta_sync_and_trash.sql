CREATE TABLE "task_link_removals" (
	"user_id" uuid NOT NULL,
	"task_id" uuid NOT NULL,
	"category_id" uuid NOT NULL,
	"change_seq" bigint NOT NULL,
	"removed_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "task_sync_state" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"seq" bigint DEFAULT 0 NOT NULL,
	"purged_seq" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "change_seq" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "task_link_removals" ADD CONSTRAINT "task_link_removals_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "task_link_removals" ADD CONSTRAINT "task_link_removals_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "task_sync_state" ADD CONSTRAINT "task_sync_state_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "task_link_removals_user_change_idx" ON "task_link_removals" USING btree ("user_id","change_seq","task_id","category_id");--> statement-breakpoint
CREATE INDEX "task_link_removals_removed_at_idx" ON "task_link_removals" USING btree ("removed_at");--> statement-breakpoint
CREATE INDEX "tasks_user_change_idx" ON "tasks" USING btree ("user_id","change_seq","id");--> statement-breakpoint
CREATE INDEX "tasks_user_trash_idx" ON "tasks" USING btree ("user_id","deleted_at" DESC NULLS LAST,"id" DESC NULLS LAST) WHERE "tasks"."deleted_at" is not null;--> statement-breakpoint
CREATE INDEX "tasks_deleted_at_idx" ON "tasks" USING btree ("deleted_at") WHERE "tasks"."deleted_at" is not null;--> statement-breakpoint
-- Added by hand (drizzle-kit does not manage triggers): every user has a change counter row from
-- the start, so a task write only ever locks and updates it (src/db/sql.ts, nextChangeSeq).
CREATE FUNCTION "task_sync_state_for_new_user"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "task_sync_state" ("user_id") VALUES (NEW."id");
  RETURN NEW;
END
$$;--> statement-breakpoint
CREATE TRIGGER "users_task_sync_state" AFTER INSERT ON "users" FOR EACH ROW EXECUTE FUNCTION "task_sync_state_for_new_user"();--> statement-breakpoint
INSERT INTO "task_sync_state" ("user_id") SELECT "id" FROM "users" ON CONFLICT DO NOTHING;
