CREATE TABLE "hand_packets" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"campaign_id" integer NOT NULL,
	"target_key" text NOT NULL,
	"target_name" text NOT NULL,
	"target_title" text NOT NULL,
	"letters" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" integer,
	"delivered_on" text,
	"delivered_at" timestamp with time zone,
	"delivered_by" integer,
	"note" text
);
--> statement-breakpoint
CREATE TABLE "rep_changes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"snapshot_id" integer NOT NULL,
	"kind" text NOT NULL,
	"office" text NOT NULL,
	"state" text NOT NULL,
	"district" text,
	"person_id" text,
	"name" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rep_refreshes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"outcome" text,
	"source" text NOT NULL,
	"snapshot_id" integer,
	"error" text
);
--> statement-breakpoint
-- Campaigns that existed before delivery modes keep delivering as they did; new ones start in rehearsal.
ALTER TABLE "campaigns" ADD COLUMN "delivery_mode" text DEFAULT 'live' NOT NULL;--> statement-breakpoint
ALTER TABLE "campaigns" ALTER COLUMN "delivery_mode" SET DEFAULT 'rehearsal';--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "rehearsal_to" text;--> statement-breakpoint
ALTER TABLE "letter_actions" ADD COLUMN "prefix" "bytea";--> statement-breakpoint
ALTER TABLE "letters" ADD COLUMN "delivered_as" text;--> statement-breakpoint
ALTER TABLE "letters" ADD COLUMN "packet_id" bigint;--> statement-breakpoint
ALTER TABLE "letters" ADD COLUMN "self_send" jsonb;--> statement-breakpoint
ALTER TABLE "rep_officials" ADD COLUMN "term_end" text;--> statement-breakpoint
ALTER TABLE "hand_packets" ADD CONSTRAINT "hand_packets_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hand_packets" ADD CONSTRAINT "hand_packets_created_by_staff_accounts_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."staff_accounts"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hand_packets" ADD CONSTRAINT "hand_packets_delivered_by_staff_accounts_id_fk" FOREIGN KEY ("delivered_by") REFERENCES "public"."staff_accounts"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "hand_packets_campaign_idx" ON "hand_packets" USING btree ("campaign_id","target_key","id");--> statement-breakpoint
CREATE INDEX "rep_changes_at_idx" ON "rep_changes" USING btree ("at");--> statement-breakpoint
CREATE INDEX "rep_refreshes_started_idx" ON "rep_refreshes" USING btree ("started_at");--> statement-breakpoint
ALTER TABLE "letters" ADD CONSTRAINT "letters_packet_id_hand_packets_id_fk" FOREIGN KEY ("packet_id") REFERENCES "public"."hand_packets"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "letters_staff_attention_idx" ON "letters" USING btree ("campaign_id","status","target_key","id") WHERE "letters"."status" IN ('hand-delivery', 'held', 'failed');--> statement-breakpoint
CREATE INDEX "letters_packet_idx" ON "letters" USING btree ("packet_id") WHERE "letters"."packet_id" IS NOT NULL;