CREATE TABLE "idempotent_requests" (
	"clinic_id" uuid NOT NULL,
	"key_hash" text NOT NULL,
	"route" text NOT NULL,
	"body_hash" text NOT NULL,
	"status_code" integer NOT NULL,
	"response" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotent_requests_clinic_id_key_hash_pk" PRIMARY KEY("clinic_id","key_hash")
);
--> statement-breakpoint
CREATE TABLE "import_jobs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"clinic_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"content_hash" text NOT NULL,
	"content_enc" text,
	"status" text DEFAULT 'queued' NOT NULL,
	"total" integer,
	"processed" integer DEFAULT 0 NOT NULL,
	"succeeded" integer DEFAULT 0 NOT NULL,
	"failed" integer DEFAULT 0 NOT NULL,
	"skipped" integer DEFAULT 0 NOT NULL,
	"results" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"skipped_types" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"error" text,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "journey_activations" (
	"clinic_id" uuid NOT NULL,
	"key" text NOT NULL,
	"active" boolean NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "journey_activations_clinic_id_key_pk" PRIMARY KEY("clinic_id","key")
);
--> statement-breakpoint
ALTER TABLE "clinics" ADD COLUMN "phone_region" text DEFAULT 'US' NOT NULL;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "journey_key" text;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "workflow_id" text;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "variant" text;--> statement-breakpoint
ALTER TABLE "enrollments" ADD COLUMN "variants" jsonb;--> statement-breakpoint
ALTER TABLE "idempotent_requests" ADD CONSTRAINT "idempotent_requests_clinic_id_clinics_id_fk" FOREIGN KEY ("clinic_id") REFERENCES "public"."clinics"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_jobs" ADD CONSTRAINT "import_jobs_clinic_id_clinics_id_fk" FOREIGN KEY ("clinic_id") REFERENCES "public"."clinics"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "journey_activations" ADD CONSTRAINT "journey_activations_clinic_id_clinics_id_fk" FOREIGN KEY ("clinic_id") REFERENCES "public"."clinics"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "import_jobs_content" ON "import_jobs" USING btree ("clinic_id","kind","content_hash");--> statement-breakpoint
CREATE INDEX "deliveries_due_idx" ON "deliveries" USING btree ("clinic_id","due_at");--> statement-breakpoint
CREATE INDEX "deliveries_workflow_idx" ON "deliveries" USING btree ("clinic_id","workflow_id");--> statement-breakpoint
CREATE INDEX "enrollments_started_idx" ON "enrollments" USING btree ("clinic_id","started_at");--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotent_requests, import_jobs, journey_activations TO carebell_app;
--> statement-breakpoint
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['idempotent_requests', 'import_jobs', 'journey_activations']
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
-- An API request names no clinic until its key is known: the application role may find a key by its
-- public prefix (nothing else), and learns the clinic from it.
CREATE FUNCTION api_key_by_prefix(p_prefix text)
RETURNS TABLE (id uuid, clinic_id uuid, key_hash text, scopes text[], revoked_at timestamptz, last_used_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp SET carebell.all_clinics = 'on' AS $$
  SELECT id, clinic_id, key_hash, scopes, revoked_at, last_used_at FROM api_keys WHERE prefix = p_prefix
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION api_key_by_prefix(text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION api_key_by_prefix(text) TO carebell_app;
