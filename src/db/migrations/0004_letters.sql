CREATE TABLE "delivery_attempts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"letter_id" bigint NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"outcome" text,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "letter_actions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"campaign_id" integer NOT NULL,
	"status_token" text NOT NULL,
	"name" text NOT NULL,
	"email" text NOT NULL,
	"zip" text NOT NULL,
	"city" text,
	"state" text,
	"address" text,
	"note" text,
	"congressional_district" text,
	"state_upper_district" text,
	"state_lower_district" text,
	"wants_copy" boolean DEFAULT true NOT NULL,
	"confirmation_sent_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "letter_actions_status_token_unique" UNIQUE("status_token")
);
--> statement-breakpoint
CREATE TABLE "letter_counts" (
	"campaign_id" integer NOT NULL,
	"dimension" text NOT NULL,
	"key" text NOT NULL,
	"status" text NOT NULL,
	"count" bigint NOT NULL,
	CONSTRAINT "letter_counts_campaign_id_dimension_key_status_pk" PRIMARY KEY("campaign_id","dimension","key","status")
);
--> statement-breakpoint
CREATE TABLE "letters" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"action_id" bigint NOT NULL,
	"campaign_id" integer NOT NULL,
	"idempotency_key" text NOT NULL,
	"target_key" text NOT NULL,
	"office" text NOT NULL,
	"target_name" text NOT NULL,
	"target_title" text NOT NULL,
	"target_state" text,
	"target_district" text,
	"channel" text NOT NULL,
	"channel_address" text,
	"subject" text NOT NULL,
	"body" text NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"delivered_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "letters_idempotency_key_unique" UNIQUE("idempotency_key")
);
--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "letter_from" text;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "letter_limits" jsonb DEFAULT '{"subjectMax":150,"bodyMax":5000}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD CONSTRAINT "delivery_attempts_letter_id_letters_id_fk" FOREIGN KEY ("letter_id") REFERENCES "public"."letters"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "letter_actions" ADD CONSTRAINT "letter_actions_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "letter_counts" ADD CONSTRAINT "letter_counts_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "letters" ADD CONSTRAINT "letters_action_id_letter_actions_id_fk" FOREIGN KEY ("action_id") REFERENCES "public"."letter_actions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "letters" ADD CONSTRAINT "letters_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "delivery_attempts_letter_idx" ON "delivery_attempts" USING btree ("letter_id");--> statement-breakpoint
CREATE INDEX "letter_actions_campaign_idx" ON "letter_actions" USING btree ("campaign_id","created_at");--> statement-breakpoint
CREATE INDEX "letters_action_idx" ON "letters" USING btree ("action_id");--> statement-breakpoint
CREATE INDEX "letters_pending_idx" ON "letters" USING btree ("status","updated_at") WHERE "letters"."status" IN ('queued', 'sending', 'retrying');