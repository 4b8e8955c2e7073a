-- Tenancy: the application connects as carebell_app, which sees only the rows of the clinic named by the
-- transaction-local setting carebell.clinic_id. A query that forgets the setting sees nothing.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'carebell_app') THEN
    CREATE ROLE carebell_app NOLOGIN NOBYPASSRLS;
  END IF;
END $$;
--> statement-breakpoint
GRANT carebell_app TO CURRENT_USER;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO carebell_app;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON clinics, api_keys, patients, contact_points, channel_preferences,
  journey_definitions, enrollments, deliveries, delivery_events, suppressions TO carebell_app;
--> statement-breakpoint
GRANT SELECT, INSERT ON consents TO carebell_app;
--> statement-breakpoint
GRANT SELECT ON audit_log TO carebell_app;
--> statement-breakpoint
CREATE FUNCTION carebell_clinic() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('carebell.clinic_id', true), '')::uuid
$$;
--> statement-breakpoint
ALTER TABLE clinics ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant ON clinics TO carebell_app USING (id = carebell_clinic()) WITH CHECK (id = carebell_clinic());
--> statement-breakpoint
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['api_keys', 'patients', 'contact_points', 'channel_preferences', 'consents',
    'journey_definitions', 'enrollments', 'deliveries', 'delivery_events', 'suppressions']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant ON %I TO carebell_app USING (clinic_id = carebell_clinic()) '
      'WITH CHECK (clinic_id = carebell_clinic())', t);
  END LOOP;
END $$;
--> statement-breakpoint
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant ON audit_log FOR SELECT TO carebell_app USING (clinic_id = carebell_clinic());
--> statement-breakpoint
-- Consent history and the audit log are never rewritten.
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
--> statement-breakpoint
CREATE TRIGGER consents_append_only BEFORE UPDATE OR DELETE ON consents FOR EACH ROW EXECUTE FUNCTION refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
--> statement-breakpoint
-- The only way in: chains each row to the one before under a transaction-scoped lock, so the chain stays
-- linear with any number of writers. db/queries/audit.ts recomputes the same hash to verify it.
CREATE FUNCTION audit_append(p_actor text, p_clinic uuid, p_action text, p_object_type text, p_object_id text, p_outcome text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_prev text;
  v_id bigint;
  v_at timestamptz := date_trunc('milliseconds', clock_timestamp());
  v_hash text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('carebell.audit_log'));
  SELECT hash INTO v_prev FROM audit_log ORDER BY id DESC LIMIT 1;
  v_prev := coalesce(v_prev, repeat('0', 64));
  v_id := nextval(pg_get_serial_sequence('audit_log', 'id'));
  v_hash := encode(sha256(convert_to(concat_ws('|', v_prev, v_id::text,
    (extract(epoch FROM v_at) * 1000)::bigint::text, p_actor, coalesce(p_clinic::text, ''), p_action,
    p_object_type, coalesce(p_object_id, ''), p_outcome), 'UTF8')), 'hex');
  INSERT INTO audit_log (id, at, actor, clinic_id, action, object_type, object_id, outcome, prev_hash, hash)
  VALUES (v_id, v_at, p_actor, p_clinic, p_action, p_object_type, p_object_id, p_outcome, v_prev, v_hash);
  RETURN v_id;
END $$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION audit_append(text, uuid, text, text, text, text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION audit_append(text, uuid, text, text, text, text) TO carebell_app;
