// A patient's SMS reply as the API shows it: what carebell understood, never the text.
import { z } from 'zod';
import type { ReplyIntent } from '../usecases/reply-intent';

export const replyView = z.object({
  id: z.uuid(),
  receivedAt: z.iso.datetime(),
  intent: z.enum(['stop', 'start', 'help', 'confirm', 'cancel', 'done', 'other']),
  flagged: z.boolean().describe('Reads as a wish to stop in other words: for staff to act on'),
  enrollmentId: z
    .uuid()
    .nullable()
    .describe('The journey a CONFIRM or CANCEL APPT answered (the appointment the EHR booked it for)'),
});

export const viewOfReply = (reply: {
  id: string;
  receivedAt: Date;
  intent: string;
  flagged: boolean;
  enrollmentId: string | null;
}): z.infer<typeof replyView> => ({
  id: reply.id,
  receivedAt: reply.receivedAt.toISOString(),
  intent: reply.intent as ReplyIntent,
  flagged: reply.flagged,
  enrollmentId: reply.enrollmentId,
});
