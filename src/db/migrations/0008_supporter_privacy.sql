CREATE TABLE "consents" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"signature_id" bigint NOT NULL,
	"campaign_id" integer NOT NULL,
	"scope" text NOT NULL,
	"partner_id" integer,
	"wording" text NOT NULL,
	"channel" text NOT NULL,
	"given_at" timestamp with time zone DEFAULT now() NOT NULL,
	"withdrawn_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "erased_signature_counts" (
	"campaign_id" integer NOT NULL,
	"dimension" text NOT NULL,
	"key" text NOT NULL,
	"count" bigint NOT NULL,
	CONSTRAINT "erased_signature_counts_campaign_id_dimension_key_pk" PRIMARY KEY("campaign_id","dimension","key")
);
--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "closed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "require_verification" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "signatures" ADD COLUMN "verified_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "signatures" ADD COLUMN "notice_pending" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "consents" ADD CONSTRAINT "consents_signature_id_signatures_id_fk" FOREIGN KEY ("signature_id") REFERENCES "public"."signatures"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "consents" ADD CONSTRAINT "consents_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "consents" ADD CONSTRAINT "consents_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "erased_signature_counts" ADD CONSTRAINT "erased_signature_counts_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "consents_signature_idx" ON "consents" USING btree ("signature_id");--> statement-breakpoint
CREATE INDEX "consents_campaign_idx" ON "consents" USING btree ("campaign_id","scope","partner_id");--> statement-breakpoint
CREATE INDEX "letter_actions_email_idx" ON "letter_actions" USING btree ("email");--> statement-breakpoint
CREATE INDEX "signatures_notice_pending_idx" ON "signatures" USING btree ("campaign_id","id") WHERE "signatures"."notice_pending";--> statement-breakpoint
-- Campaigns closed before this migration: their closing is dated by their last edit.
UPDATE "campaigns" SET "closed_at" = "updated_at" WHERE "status" = 'closed';
