import { and, eq } from 'drizzle-orm';
import { idempotentRequests } from '../schema';
import type { Queryable } from '../tenant';

export type IdempotentRequest = typeof idempotentRequests.$inferSelect;

/** Status 0: the first request with this key is still being answered. */
export const IN_PROGRESS = 0;

/** Claims the key for this request; returns the earlier request's row if it was claimed before. */
export async function claimIdempotencyKey(
  db: Queryable,
  claim: { clinicId: string; keyHash: string; route: string; bodyHash: string },
): Promise<IdempotentRequest | undefined> {
  const [created] = await db
    .insert(idempotentRequests)
    .values({ ...claim, statusCode: IN_PROGRESS, response: {} })
    .onConflictDoNothing()
    .returning();
  if (created) return undefined;
  const [existing] = await db
    .select()
    .from(idempotentRequests)
    .where(
      and(eq(idempotentRequests.clinicId, claim.clinicId), eq(idempotentRequests.keyHash, claim.keyHash)),
    );
  return existing;
}

export async function completeIdempotentRequest(
  db: Queryable,
  clinicId: string,
  keyHash: string,
  statusCode: number,
  response: unknown,
): Promise<void> {
  await db
    .update(idempotentRequests)
    .set({ statusCode, response })
    .where(and(eq(idempotentRequests.clinicId, clinicId), eq(idempotentRequests.keyHash, keyHash)));
}

/** Frees the key after a failure on carebell's side, so the client's retry is acted on. */
export async function releaseIdempotencyKey(db: Queryable, clinicId: string, keyHash: string): Promise<void> {
  await db
    .delete(idempotentRequests)
    .where(and(eq(idempotentRequests.clinicId, clinicId), eq(idempotentRequests.keyHash, keyHash)));
}
