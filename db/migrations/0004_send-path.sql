ALTER TABLE "clinics" ADD COLUMN "display_name" text;--> statement-breakpoint
ALTER TABLE "clinics" ADD COLUMN "contact_phone" text;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "address_index" text;--> statement-breakpoint
CREATE INDEX "deliveries_address_idx" ON "deliveries" USING btree ("clinic_id","address_index");