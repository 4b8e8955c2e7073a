CREATE TABLE "delivery_contents" (
	"id" uuid PRIMARY KEY NOT NULL,
	"clinic_id" uuid NOT NULL,
	"template" text NOT NULL,
	"template_version" text NOT NULL,
	"language" text NOT NULL,
	"rendered_enc" text NOT NULL,
	"details_enc" text,
	"retain_until" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "inbound_messages" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"clinic_id" uuid NOT NULL,
	"patient_id" uuid,
	"provider_message_id" text NOT NULL,
	"from_index" text NOT NULL,
	"body_enc" text NOT NULL,
	"intent" text NOT NULL,
	"flagged" boolean DEFAULT false NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "message_links" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"clinic_id" uuid NOT NULL,
	"delivery_id" uuid NOT NULL,
	"purpose" text NOT NULL,
	"token_hash" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"failed_attempts" integer DEFAULT 0 NOT NULL,
	"locked_at" timestamp with time zone,
	"used_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "clinics" ADD COLUMN "marketing_email_sender" text;--> statement-breakpoint
ALTER TABLE "clinics" ADD COLUMN "brand_color" text;--> statement-breakpoint
ALTER TABLE "clinics" ADD COLUMN "retention_days" integer DEFAULT 2557 NOT NULL;--> statement-breakpoint
ALTER TABLE "delivery_events" ADD COLUMN "provider_error" text;--> statement-breakpoint
ALTER TABLE "enrollments" ADD COLUMN "details_enc" text;--> statement-breakpoint
ALTER TABLE "delivery_contents" ADD CONSTRAINT "delivery_contents_id_deliveries_id_fk" FOREIGN KEY ("id") REFERENCES "public"."deliveries"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "delivery_contents" ADD CONSTRAINT "delivery_contents_clinic_id_clinics_id_fk" FOREIGN KEY ("clinic_id") REFERENCES "public"."clinics"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbound_messages" ADD CONSTRAINT "inbound_messages_clinic_id_clinics_id_fk" FOREIGN KEY ("clinic_id") REFERENCES "public"."clinics"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbound_messages" ADD CONSTRAINT "inbound_messages_patient_id_patients_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "message_links" ADD CONSTRAINT "message_links_clinic_id_clinics_id_fk" FOREIGN KEY ("clinic_id") REFERENCES "public"."clinics"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "message_links" ADD CONSTRAINT "message_links_delivery_id_deliveries_id_fk" FOREIGN KEY ("delivery_id") REFERENCES "public"."deliveries"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "delivery_contents_retain_idx" ON "delivery_contents" USING btree ("retain_until");--> statement-breakpoint
CREATE UNIQUE INDEX "inbound_messages_provider_id" ON "inbound_messages" USING btree ("clinic_id","provider_message_id");--> statement-breakpoint
CREATE INDEX "inbound_messages_patient_idx" ON "inbound_messages" USING btree ("clinic_id","patient_id");--> statement-breakpoint
CREATE UNIQUE INDEX "message_links_token" ON "message_links" USING btree ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "message_links_delivery_purpose" ON "message_links" USING btree ("delivery_id","purpose");--> statement-breakpoint
CREATE UNIQUE INDEX "delivery_events_once" ON "delivery_events" USING btree ("delivery_id","provider_status");--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON delivery_contents, message_links, inbound_messages TO carebell_app;
--> statement-breakpoint
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['delivery_contents', 'message_links', 'inbound_messages']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant ON %I TO carebell_app USING (clinic_id = carebell_clinic()) '
      'WITH CHECK (clinic_id = carebell_clinic())', t);
    EXECUTE format('CREATE POLICY all_clinics ON %I TO CURRENT_USER '
      'USING (current_setting(''carebell.all_clinics'', true) = ''on'') '
      'WITH CHECK (current_setting(''carebell.all_clinics'', true) = ''on'')', t);
  END LOOP;
END $$;
--> statement-breakpoint
-- A link a patient opens names no clinic: the application role may find a link by its token's hash
-- (nothing else), and learns the clinic from it.
CREATE FUNCTION message_link_by_token(p_token_hash text)
RETURNS TABLE (id uuid, clinic_id uuid, delivery_id uuid, purpose text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp SET carebell.all_clinics = 'on' AS $$
  SELECT id, clinic_id, delivery_id, purpose FROM message_links WHERE token_hash = p_token_hash
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION message_link_by_token(text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION message_link_by_token(text) TO carebell_app;
--> statement-breakpoint
-- An inbound SMS or a status callback names a number or a message, not a clinic: the application role may
-- find the clinic texting from a number, and the delivery (and its clinic) a provider message id belongs to.
CREATE FUNCTION clinic_by_sms_number(p_number text)
RETURNS TABLE (id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp SET carebell.all_clinics = 'on' AS $$
  SELECT id FROM clinics WHERE sms_sender = p_number
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION clinic_by_sms_number(text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION clinic_by_sms_number(text) TO carebell_app;
--> statement-breakpoint
CREATE FUNCTION delivery_by_provider_id(p_provider_message_id text)
RETURNS TABLE (id uuid, clinic_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp SET carebell.all_clinics = 'on' AS $$
  SELECT id, clinic_id FROM deliveries WHERE provider_message_id = p_provider_message_id
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION delivery_by_provider_id(text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION delivery_by_provider_id(text) TO carebell_app;
--> statement-breakpoint
CREATE INDEX deliveries_provider_message_idx ON deliveries (provider_message_id);
