CREATE TABLE "batch_commands" (
	"user_id" uuid NOT NULL,
	"command_id" text NOT NULL,
	"fingerprint" text NOT NULL,
	"answer" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "batch_commands_user_id_command_id_pk" PRIMARY KEY("user_id","command_id"),
	CONSTRAINT "batch_commands_id_length" CHECK (char_length("batch_commands"."command_id") between 1 and 64)
);
--> statement-breakpoint
ALTER TABLE "batch_commands" ADD CONSTRAINT "batch_commands_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "batch_commands_created_at_idx" ON "batch_commands" USING btree ("created_at");--> statement-breakpoint
-- An atomic batch (docs/decisions/0028) calls this after each command: a command that did not
-- apply aborts the transaction, so nothing of the batch is written, and the error's DETAIL carries
-- the command's row so the Worker can still say why it was refused. SQLSTATE ET001 is ours.
CREATE FUNCTION batch_stop_unless(applied boolean, command integer, answer jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT coalesce(applied, false) THEN
    RAISE EXCEPTION 'batch command % was not applied', command
      USING ERRCODE = 'ET001', DETAIL = json_build_object('command', command, 'answer', answer)::text;
  END IF;
  RETURN true;
END
$$;
