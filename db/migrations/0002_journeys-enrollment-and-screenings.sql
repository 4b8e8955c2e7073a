CREATE TABLE "screening_records" (
	"id" uuid PRIMARY KEY NOT NULL,
	"clinic_id" uuid NOT NULL,
	"patient_id" uuid NOT NULL,
	"record_enc" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "category" "message_category" DEFAULT 'transactional' NOT NULL;--> statement-breakpoint
ALTER TABLE "enrollments" ADD COLUMN "category" "message_category" NOT NULL;--> statement-breakpoint
ALTER TABLE "enrollments" ADD COLUMN "subject" text;--> statement-breakpoint
ALTER TABLE "enrollments" ADD COLUMN "outcome" text;--> statement-breakpoint
ALTER TABLE "enrollments" ADD COLUMN "next_send_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "screening_records" ADD CONSTRAINT "screening_records_clinic_id_clinics_id_fk" FOREIGN KEY ("clinic_id") REFERENCES "public"."clinics"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "screening_records" ADD CONSTRAINT "screening_records_patient_id_patients_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patients"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "screening_records_patient" ON "screening_records" USING btree ("clinic_id","patient_id");--> statement-breakpoint
CREATE INDEX "enrollments_patient_active" ON "enrollments" USING btree ("clinic_id","patient_id","status");--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON screening_records TO carebell_app;
--> statement-breakpoint
ALTER TABLE screening_records ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant ON screening_records TO carebell_app USING (clinic_id = carebell_clinic())
  WITH CHECK (clinic_id = carebell_clinic());
--> statement-breakpoint
-- Sweeps visit every clinic in turn; the application role may learn the ids (nothing else) to do so.
CREATE FUNCTION clinic_ids() RETURNS SETOF uuid LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT id FROM clinics ORDER BY id
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION clinic_ids() FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION clinic_ids() TO carebell_app;
