CREATE TABLE "custom_targets" (
	"id" serial PRIMARY KEY NOT NULL,
	"campaign_id" integer NOT NULL,
	"list" text NOT NULL,
	"name" text NOT NULL,
	"title" text NOT NULL,
	"email" text,
	"phone" text,
	"postal_address" text,
	"scope" text NOT NULL,
	"scope_state" text,
	"scope_city" text,
	"scope_zips" text[],
	"scope_layer" text,
	"scope_geoid" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rep_districts" (
	"snapshot_id" integer NOT NULL,
	"layer" text NOT NULL,
	"geoid" text NOT NULL,
	"state" text NOT NULL,
	"name" text NOT NULL,
	"seats" jsonb NOT NULL,
	"geometry" "bytea",
	CONSTRAINT "rep_districts_snapshot_id_layer_geoid_pk" PRIMARY KEY("snapshot_id","layer","geoid")
);
--> statement-breakpoint
CREATE TABLE "rep_officials" (
	"snapshot_id" integer NOT NULL,
	"person_id" text NOT NULL,
	"office" text NOT NULL,
	"state" text NOT NULL,
	"district" text,
	"name" text NOT NULL,
	"party" text,
	"ids" jsonb NOT NULL,
	"channels" jsonb NOT NULL,
	"source" integer NOT NULL,
	CONSTRAINT "rep_officials_snapshot_id_office_person_id_pk" PRIMARY KEY("snapshot_id","office","person_id")
);
--> statement-breakpoint
CREATE TABLE "rep_snapshots" (
	"id" serial PRIMARY KEY NOT NULL,
	"active" boolean DEFAULT false NOT NULL,
	"content_hash" text NOT NULL,
	"sources" jsonb NOT NULL,
	"counts" jsonb NOT NULL,
	"imported_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rep_zctas" (
	"snapshot_id" integer NOT NULL,
	"zcta" text NOT NULL,
	"cd" text[] NOT NULL,
	"sldu" text[] NOT NULL,
	"sldl" text[] NOT NULL,
	"centroid_cd" text,
	"centroid_sldu" text,
	"centroid_sldl" text,
	"lat" real,
	"lng" real,
	CONSTRAINT "rep_zctas_snapshot_id_zcta_pk" PRIMARY KEY("snapshot_id","zcta")
);
--> statement-breakpoint
ALTER TABLE "signatures" ADD COLUMN "state_upper_district" text;--> statement-breakpoint
ALTER TABLE "signatures" ADD COLUMN "state_lower_district" text;--> statement-breakpoint
ALTER TABLE "custom_targets" ADD CONSTRAINT "custom_targets_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rep_districts" ADD CONSTRAINT "rep_districts_snapshot_id_rep_snapshots_id_fk" FOREIGN KEY ("snapshot_id") REFERENCES "public"."rep_snapshots"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rep_officials" ADD CONSTRAINT "rep_officials_snapshot_id_rep_snapshots_id_fk" FOREIGN KEY ("snapshot_id") REFERENCES "public"."rep_snapshots"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rep_zctas" ADD CONSTRAINT "rep_zctas_snapshot_id_rep_snapshots_id_fk" FOREIGN KEY ("snapshot_id") REFERENCES "public"."rep_snapshots"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "custom_targets_campaign_idx" ON "custom_targets" USING btree ("campaign_id","list");--> statement-breakpoint
CREATE UNIQUE INDEX "rep_snapshots_one_active" ON "rep_snapshots" USING btree ("active") WHERE "rep_snapshots"."active";