ALTER TABLE "enrollments" ADD COLUMN "end_reason" text;--> statement-breakpoint
ALTER TABLE "inbound_messages" ADD COLUMN "enrollment_id" uuid;--> statement-breakpoint
ALTER TABLE "inbound_messages" ADD CONSTRAINT "inbound_messages_enrollment_id_enrollments_id_fk" FOREIGN KEY ("enrollment_id") REFERENCES "public"."enrollments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "inbound_messages_enrollment_idx" ON "inbound_messages" USING btree ("clinic_id","enrollment_id");