ALTER TABLE "letter_actions" ADD COLUMN "request_key" text;--> statement-breakpoint
CREATE UNIQUE INDEX "letter_actions_request_key" ON "letter_actions" USING btree ("campaign_id","request_key");--> statement-breakpoint
CREATE INDEX "signatures_campaign_created_idx" ON "signatures" USING btree ("campaign_id","created_at");