CREATE TABLE "processed_events" (
	"clinic_id" uuid NOT NULL,
	"event_index" text NOT NULL,
	"processed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "processed_events_clinic_id_event_index_pk" PRIMARY KEY("clinic_id","event_index")
);
--> statement-breakpoint
ALTER TABLE "processed_events" ADD CONSTRAINT "processed_events_clinic_id_clinics_id_fk" FOREIGN KEY ("clinic_id") REFERENCES "public"."clinics"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
GRANT SELECT, INSERT ON processed_events TO carebell_app;
--> statement-breakpoint
ALTER TABLE processed_events ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant ON processed_events TO carebell_app USING (clinic_id = carebell_clinic())
  WITH CHECK (clinic_id = carebell_clinic());
