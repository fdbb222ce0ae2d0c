CREATE TABLE "ban_bills" (
	"id" serial PRIMARY KEY NOT NULL,
	"campaign_id" integer NOT NULL,
	"jurisdiction" text NOT NULL,
	"number" text NOT NULL,
	"title" text NOT NULL,
	"status" text NOT NULL,
	"url" text,
	"sponsors" text[] DEFAULT '{}'::text[] NOT NULL,
	"published" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ban_places" (
	"id" serial PRIMARY KEY NOT NULL,
	"campaign_id" integer NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"state" text NOT NULL,
	"passed_on" text NOT NULL,
	"url" text,
	"published" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "call_reports" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"campaign_id" integer NOT NULL,
	"target_key" text NOT NULL,
	"office" text NOT NULL,
	"target_name" text NOT NULL,
	"target_state" text,
	"target_district" text,
	"outcome" text NOT NULL,
	"congressional_district" text,
	"state_upper_district" text,
	"state_lower_district" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "call_scripts" (
	"campaign_id" integer NOT NULL,
	"level" text NOT NULL,
	"stance" text NOT NULL,
	"language" text DEFAULT 'en' NOT NULL,
	"body" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "call_scripts_campaign_id_level_stance_language_pk" PRIMARY KEY("campaign_id","level","stance","language")
);
--> statement-breakpoint
CREATE TABLE "official_stances" (
	"campaign_id" integer NOT NULL,
	"person_key" text NOT NULL,
	"stance" text NOT NULL,
	"source_kind" text NOT NULL,
	"source_url" text,
	"source_text" text,
	"bill_id" integer,
	"stated_on" text,
	"set_by_staff" boolean DEFAULT true NOT NULL,
	"published" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "official_stances_campaign_id_person_key_pk" PRIMARY KEY("campaign_id","person_key")
);
--> statement-breakpoint
CREATE TABLE "stance_letter_templates" (
	"campaign_id" integer NOT NULL,
	"level" text NOT NULL,
	"stance" text NOT NULL,
	"language" text DEFAULT 'en' NOT NULL,
	"subject" text NOT NULL,
	"body" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "stance_letter_templates_campaign_id_level_stance_language_pk" PRIMARY KEY("campaign_id","level","stance","language")
);
--> statement-breakpoint
ALTER TABLE "ban_bills" ADD CONSTRAINT "ban_bills_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ban_places" ADD CONSTRAINT "ban_places_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_reports" ADD CONSTRAINT "call_reports_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_scripts" ADD CONSTRAINT "call_scripts_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "official_stances" ADD CONSTRAINT "official_stances_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "official_stances" ADD CONSTRAINT "official_stances_bill_id_ban_bills_id_fk" FOREIGN KEY ("bill_id") REFERENCES "public"."ban_bills"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stance_letter_templates" ADD CONSTRAINT "stance_letter_templates_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "ban_bills_campaign_number_key" ON "ban_bills" USING btree ("campaign_id","jurisdiction","number");--> statement-breakpoint
CREATE UNIQUE INDEX "ban_places_campaign_place_key" ON "ban_places" USING btree ("campaign_id","kind","state","name");--> statement-breakpoint
CREATE INDEX "call_reports_campaign_target_idx" ON "call_reports" USING btree ("campaign_id","target_key");