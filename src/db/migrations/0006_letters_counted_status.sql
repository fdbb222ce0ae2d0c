ALTER TABLE "letters" ADD COLUMN "counted_status" text;--> statement-breakpoint
UPDATE "letters" SET "counted_status" = "status";--> statement-breakpoint
ALTER TABLE "letters" ALTER COLUMN "counted_status" SET NOT NULL;
