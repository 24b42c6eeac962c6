ALTER TABLE "categories" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "categories" ADD COLUMN "version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "categories" ADD CONSTRAINT "categories_version_positive" CHECK ("categories"."version" >= 1);--> statement-breakpoint
-- Existing categories were last changed when they were created.
UPDATE "categories" SET "updated_at" = "created_at";
