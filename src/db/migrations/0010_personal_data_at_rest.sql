-- Supporters' personal data is encrypted at rest (src/privacy/field-encryption.ts). PostgreSQL
-- cannot encrypt with the application's keys, so the application seals the rows written before
-- this migration just before it runs, on the same connection (src/db/seal-plaintext.ts), into the
-- temporary table "personal_data_sealed"; here the sealed values replace the plaintext, in one
-- transaction. The plaintext columns are dropped before the sealed values are written, so no new
-- row version carries them, and each table is rewritten at the end (CLUSTER), so that the old
-- versions leave the table's files too.
CREATE TABLE "encryption_key_checks" (
	"key_id" integer PRIMARY KEY NOT NULL,
	"check_value" bytea NOT NULL,
	"reindexing" boolean DEFAULT false NOT NULL,
	"retired" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);--> statement-breakpoint

ALTER TABLE "signatures" DROP COLUMN "email", DROP COLUMN "name", DROP COLUMN "address",
  ADD COLUMN "email" bytea, ADD COLUMN "email_hash" bytea, ADD COLUMN "email_domain_hash" bytea, ADD COLUMN "name" bytea, ADD COLUMN "address" bytea;--> statement-breakpoint
UPDATE "signatures" s SET "email" = p."email", "email_hash" = p."email_hash", "email_domain_hash" = p."email_domain_hash", "name" = p."name", "address" = p."address"
  FROM "personal_data_sealed" p WHERE p."table_name" = 'signatures' AND p."id" = s."id";--> statement-breakpoint

ALTER TABLE "letter_actions" DROP COLUMN "name", DROP COLUMN "email", DROP COLUMN "city", DROP COLUMN "address", DROP COLUMN "note",
  ADD COLUMN "name" bytea, ADD COLUMN "email" bytea, ADD COLUMN "email_hash" bytea, ADD COLUMN "city" bytea, ADD COLUMN "address" bytea, ADD COLUMN "note" bytea;--> statement-breakpoint
UPDATE "letter_actions" a SET "name" = p."name", "email" = p."email", "email_hash" = p."email_hash", "city" = p."city", "address" = p."address", "note" = p."note"
  FROM "personal_data_sealed" p WHERE p."table_name" = 'letter_actions' AND p."id" = a."id";--> statement-breakpoint

ALTER TABLE "letters" DROP COLUMN "subject", DROP COLUMN "body", ADD COLUMN "subject" bytea, ADD COLUMN "body" bytea;--> statement-breakpoint
UPDATE "letters" l SET "subject" = p."subject", "body" = p."body"
  FROM "personal_data_sealed" p WHERE p."table_name" = 'letters' AND p."id" = l."id";--> statement-breakpoint

-- A row an older version wrote after the sealing has nothing sealed: stop here, with a message, and change nothing.
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM "signatures" WHERE "email" IS NULL) OR EXISTS (SELECT 1 FROM "letter_actions" WHERE "email" IS NULL)
     OR EXISTS (SELECT 1 FROM "letters" WHERE "body" IS NULL) THEN
    RAISE EXCEPTION 'rows were written while the existing ones were being encrypted: stop every process of the previous version, then start again';
  END IF;
END $$;--> statement-breakpoint

ALTER TABLE "signatures" ALTER COLUMN "email" SET NOT NULL, ALTER COLUMN "email_hash" SET NOT NULL,
  ALTER COLUMN "email_domain_hash" SET NOT NULL, ALTER COLUMN "name" SET NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "signatures_campaign_email_key" ON "signatures" USING btree ("campaign_id","email_hash");--> statement-breakpoint
ALTER TABLE "letter_actions" ALTER COLUMN "name" SET NOT NULL, ALTER COLUMN "email" SET NOT NULL, ALTER COLUMN "email_hash" SET NOT NULL;--> statement-breakpoint
CREATE INDEX "letter_actions_email_idx" ON "letter_actions" USING btree ("email_hash");--> statement-breakpoint
ALTER TABLE "letters" ALTER COLUMN "subject" SET NOT NULL, ALTER COLUMN "body" SET NOT NULL;--> statement-breakpoint
DROP TABLE "personal_data_sealed";--> statement-breakpoint

CLUSTER "signatures" USING "signatures_pkey";--> statement-breakpoint
CLUSTER "letter_actions" USING "letter_actions_pkey";--> statement-breakpoint
CLUSTER "letters" USING "letters_pkey";
