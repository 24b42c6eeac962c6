-- Added by hand (drizzle-kit does not manage extensions): btree_gin lets the search index hold
-- user_id beside the document. It is a trusted extension (PG 13+), available on Neon and in PGlite.
CREATE EXTENSION IF NOT EXISTS btree_gin;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "search" "tsvector" GENERATED ALWAYS AS (setweight(to_tsvector('simple'::regconfig, "title"), 'A') || setweight(to_tsvector('simple'::regconfig, coalesce("description", '')), 'B')) STORED NOT NULL;--> statement-breakpoint
CREATE INDEX "tasks_user_search_idx" ON "tasks" USING gin ("user_id","search") WHERE "tasks"."deleted_at" is null;