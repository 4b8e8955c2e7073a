// The audit hash chain, switched off for a measurement and on again: bench-only, on the bench's throw-away
// database, through the owner's login. There is no setting that weakens audit in carebell itself, and none
// is added: the bench swaps audit_append (the only way rows enter audit_log) for a version that writes
// the same row without the chain (no global lock, no read of the previous hash, no SHA-256), then puts
// the migration's own definition back.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';

const SIGNATURE = 'audit_append(text, uuid, text, text, text, text)';

const UNCHAINED = sql.raw(`
CREATE OR REPLACE FUNCTION audit_append(p_actor text, p_clinic uuid, p_action text, p_object_type text, p_object_id text, p_outcome text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET carebell.all_clinics = 'on' AS $$
DECLARE
  v_id bigint := nextval(pg_get_serial_sequence('audit_log', 'id'));
BEGIN
  INSERT INTO audit_log (id, at, actor, clinic_id, action, object_type, object_id, outcome, prev_hash, hash)
  VALUES (v_id, date_trunc('milliseconds', clock_timestamp()), p_actor, p_clinic, p_action, p_object_type,
    p_object_id, p_outcome, '', '');
  RETURN v_id;
END $$`);

/** Turns the chain off; the returned function turns it back on exactly as the migrations defined it. */
export async function unchainAudit(owner: Database): Promise<() => Promise<void>> {
  const [row] = await owner.execute<{ definition: string }>(
    sql`select pg_get_functiondef(${SIGNATURE}::regprocedure) as definition`,
  );
  if (!row) throw new Error('audit_append is missing');
  await owner.execute(UNCHAINED);
  return async () => {
    await owner.execute(sql.raw(row.definition));
  };
}
