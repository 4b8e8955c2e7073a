// The message archive's retention: a clinic's archived messages are deleted once `retain_until` has
// passed, and message links some time after they expired (until then an old link still says "expired,
// call us" rather than "unknown"). In batches, each audited with how many rows and the range of their
// retention dates, never their content.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { appendAudit } from '../db/queries/audit';
import { purgeDeliveryContents } from '../db/queries/delivery-contents';
import { deleteExpiredLinks } from '../db/queries/message-links';
import { withClinic } from '../db/tenant';
import type { PurgeCounts } from '../domain/purge';

export const PURGE_BATCH_SIZE = 500;
/** An expired link is kept this long, so that opening it still names the clinic to call. */
export const EXPIRED_LINK_GRACE_MS = 90 * 24 * 3600 * 1000;

export interface PurgeOptions {
  /** Who purges, for the audit log: `worker` (the schedule) or `cli:archive-purge`. */
  actor: string;
  /** The moment retention is measured against; now by default. */
  asOf?: Date;
  batchSize?: number;
  /** After each batch (an activity heartbeats, the CLI prints progress). */
  onBatch?: (done: PurgeCounts) => void;
}

export async function purgeClinicArchive(
  db: Database,
  clinicId: string,
  options: PurgeOptions,
): Promise<PurgeCounts> {
  const asOf = options.asOf ?? new Date();
  const limit = options.batchSize ?? PURGE_BATCH_SIZE;
  const done: PurgeCounts = { contents: 0, links: 0 };
  for (;;) {
    const batch = await withClinic(db, clinicId, async (tx) => {
      const purged = await purgeDeliveryContents(tx, clinicId, asOf, limit);
      if (purged.count > 0)
        await appendAudit(tx, {
          actor: options.actor,
          clinicId,
          action: 'archive.purge',
          objectType: 'delivery-content',
          objectId: `${purged.count} rows retained until ${purged.oldest!.toISOString()}..${purged.newest!.toISOString()}`,
          outcome: 'success',
        });
      return purged.count;
    });
    done.contents += batch;
    options.onBatch?.({ ...done });
    if (batch < limit) break;
  }
  const linksBefore = new Date(asOf.getTime() - EXPIRED_LINK_GRACE_MS);
  for (;;) {
    const batch = await withClinic(db, clinicId, async (tx) => {
      const count = await deleteExpiredLinks(tx, clinicId, linksBefore, limit);
      if (count > 0)
        await appendAudit(tx, {
          actor: options.actor,
          clinicId,
          action: 'message-link.purge',
          objectType: 'message-link',
          objectId: `${count} rows expired before ${linksBefore.toISOString()}`,
          outcome: 'success',
        });
      return count;
    });
    done.links += batch;
    options.onBatch?.({ ...done });
    if (batch < limit) break;
  }
  return done;
}

/** Every clinic, one after the other (the CLI's `archive purge`; the schedule runs one activity per clinic). */
export async function purgeArchive(
  db: Database,
  options: PurgeOptions & { onClinic?: (index: number, total: number, done: PurgeCounts) => void },
): Promise<PurgeCounts & { clinics: number }> {
  const rows = await db.execute<{ id: string }>(sql`select clinic_ids() as id`);
  const total: PurgeCounts = { contents: 0, links: 0 };
  for (const [index, row] of rows.entries()) {
    const done = await purgeClinicArchive(db, row.id, options);
    total.contents += done.contents;
    total.links += done.links;
    options.onClinic?.(index + 1, rows.length, { ...total });
  }
  return { clinics: rows.length, ...total };
}
