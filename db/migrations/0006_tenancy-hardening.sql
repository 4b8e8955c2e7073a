-- Tenancy that does not rest on a session setting alone. The application logs in as carebell_app (or a
-- login role that is a member of it), which owns nothing, cannot bypass row-level security and cannot
-- create objects; `npm start` gives it a password, deployments give it one themselves
-- (CAREBELL_APP_DATABASE_URL).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'carebell_app' AND (rolsuper OR rolbypassrls)) THEN
    RAISE EXCEPTION 'carebell_app must be neither a superuser nor BYPASSRLS: row-level security would not apply';
  END IF;
END $$;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM carebell_app;
--> statement-breakpoint
-- Row-level security applies to the tables' owner too. Owner connections that must span clinics (key
-- rotation, audit verification) say so with carebell.all_clinics = on (db/client.ts sets it on them), and
-- the SECURITY DEFINER functions below set it for their own statements only. An owner connection opened by
-- mistake sees no clinic's rows. (Superusers and BYPASSRLS roles are not subject to row-level security.)
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['clinics', 'api_keys', 'patients', 'contact_points', 'channel_preferences',
    'consents', 'journey_definitions', 'enrollments', 'deliveries', 'delivery_events', 'suppressions',
    'screening_records', 'processed_events', 'audit_log']
  LOOP
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY all_clinics ON %I TO CURRENT_USER '
      'USING (current_setting(''carebell.all_clinics'', true) = ''on'') '
      'WITH CHECK (current_setting(''carebell.all_clinics'', true) = ''on'')', t);
  END LOOP;
END $$;
--> statement-breakpoint
-- pg_temp last: a caller's temporary objects can never shadow what these functions use.
ALTER FUNCTION clinic_ids() SET search_path = public, pg_temp;
--> statement-breakpoint
ALTER FUNCTION clinic_ids() SET carebell.all_clinics = 'on';
--> statement-breakpoint
ALTER FUNCTION audit_append(text, uuid, text, text, text, text) SET search_path = public, pg_temp;
--> statement-breakpoint
ALTER FUNCTION audit_append(text, uuid, text, text, text, text) SET carebell.all_clinics = 'on';
