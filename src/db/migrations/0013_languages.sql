-- Hand-ordered: drizzle-kit put the new primary key of letter_templates before the column it needs.
ALTER TABLE "campaigns" ADD COLUMN "translations" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "letter_actions" ADD COLUMN "language" text DEFAULT 'en' NOT NULL;--> statement-breakpoint
ALTER TABLE "signatures" ADD COLUMN "language" text DEFAULT 'en' NOT NULL;--> statement-breakpoint
ALTER TABLE "letter_templates" ADD COLUMN "language" text DEFAULT 'en' NOT NULL;--> statement-breakpoint
ALTER TABLE "letter_templates" DROP CONSTRAINT "letter_templates_campaign_id_level_pk";--> statement-breakpoint
ALTER TABLE "letter_templates" ADD CONSTRAINT "letter_templates_campaign_id_level_language_pk" PRIMARY KEY("campaign_id","level","language");
