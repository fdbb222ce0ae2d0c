-- Supporters' personal data is encrypted at rest (src/privacy/field-encryption.ts). PostgreSQL
-- cannot encrypt with the application's keys, so the application seals the rows written before
-- this migration just before it runs (src/db/seal-plaintext.ts), into "personal_data_sealed";
-- here, in the same transaction, the sealed values replace the plaintext. A row written in
-- between has no sealed values: the NOT NULLs below then fail and nothing changes.
ALTER TABLE "signatures" ADD COLUMN "sealed_email" bytea, ADD COLUMN "email_hash" bytea, ADD COLUMN "email_domain_hash" bytea,
  ADD COLUMN "sealed_name" bytea, ADD COLUMN "sealed_address" bytea;--> statement-breakpoint
UPDATE "signatures" s SET "sealed_email" = p."email", "email_hash" = p."email_hash", "email_domain_hash" = p."email_domain_hash",
  "sealed_name" = p."name", "sealed_address" = p."address"
  FROM "personal_data_sealed" p WHERE p."table_name" = 'signatures' AND p."id" = s."id";--> statement-breakpoint
ALTER TABLE "signatures" DROP COLUMN "email", DROP COLUMN "name", DROP COLUMN "address";--> statement-breakpoint
ALTER TABLE "signatures" RENAME COLUMN "sealed_email" TO "email";--> statement-breakpoint
ALTER TABLE "signatures" RENAME COLUMN "sealed_name" TO "name";--> statement-breakpoint
ALTER TABLE "signatures" RENAME COLUMN "sealed_address" TO "address";--> statement-breakpoint
ALTER TABLE "signatures" ALTER COLUMN "email" SET NOT NULL, ALTER COLUMN "email_hash" SET NOT NULL,
  ALTER COLUMN "email_domain_hash" SET NOT NULL, ALTER COLUMN "name" SET NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "signatures_campaign_email_key" ON "signatures" USING btree ("campaign_id","email_hash");--> statement-breakpoint

ALTER TABLE "letter_actions" ADD COLUMN "sealed_name" bytea, ADD COLUMN "sealed_email" bytea, ADD COLUMN "email_hash" bytea,
  ADD COLUMN "sealed_city" bytea, ADD COLUMN "sealed_address" bytea, ADD COLUMN "sealed_note" bytea;--> statement-breakpoint
UPDATE "letter_actions" a SET "sealed_name" = p."name", "sealed_email" = p."email", "email_hash" = p."email_hash",
  "sealed_city" = p."city", "sealed_address" = p."address", "sealed_note" = p."note"
  FROM "personal_data_sealed" p WHERE p."table_name" = 'letter_actions' AND p."id" = a."id";--> statement-breakpoint
ALTER TABLE "letter_actions" DROP COLUMN "name", DROP COLUMN "email", DROP COLUMN "city", DROP COLUMN "address", DROP COLUMN "note";--> statement-breakpoint
ALTER TABLE "letter_actions" RENAME COLUMN "sealed_name" TO "name";--> statement-breakpoint
ALTER TABLE "letter_actions" RENAME COLUMN "sealed_email" TO "email";--> statement-breakpoint
ALTER TABLE "letter_actions" RENAME COLUMN "sealed_city" TO "city";--> statement-breakpoint
ALTER TABLE "letter_actions" RENAME COLUMN "sealed_address" TO "address";--> statement-breakpoint
ALTER TABLE "letter_actions" RENAME COLUMN "sealed_note" TO "note";--> statement-breakpoint
ALTER TABLE "letter_actions" ALTER COLUMN "name" SET NOT NULL, ALTER COLUMN "email" SET NOT NULL, ALTER COLUMN "email_hash" SET NOT NULL;--> statement-breakpoint
CREATE INDEX "letter_actions_email_idx" ON "letter_actions" USING btree ("email_hash");--> statement-breakpoint

ALTER TABLE "letters" ADD COLUMN "sealed_subject" bytea, ADD COLUMN "sealed_body" bytea;--> statement-breakpoint
UPDATE "letters" l SET "sealed_subject" = p."subject", "sealed_body" = p."body"
  FROM "personal_data_sealed" p WHERE p."table_name" = 'letters' AND p."id" = l."id";--> statement-breakpoint
ALTER TABLE "letters" DROP COLUMN "subject", DROP COLUMN "body";--> statement-breakpoint
ALTER TABLE "letters" RENAME COLUMN "sealed_subject" TO "subject";--> statement-breakpoint
ALTER TABLE "letters" RENAME COLUMN "sealed_body" TO "body";--> statement-breakpoint
ALTER TABLE "letters" ALTER COLUMN "subject" SET NOT NULL, ALTER COLUMN "body" SET NOT NULL;--> statement-breakpoint

DROP TABLE "personal_data_sealed";
