import type { FallbackWorkflow } from '../domain/fallback';
import type { ImportInput } from '../domain/import';
import type { JourneyWorkflow } from '../domain/journey';
import type { PurgeCounts } from '../domain/purge';
import type { ReminderWorkflow } from '../domain/reminder';
import type { SweepWorkflow } from '../domain/sweep';
import { fallbackWorkflow } from './fallback';
import { importWorkflow } from './import';
import { purgeArchiveWorkflow } from './purge-archive';
import { journeyWorkflow } from './journey';
import { reconcileWorkflow } from './reconcile';
import { reminderWorkflow } from './reminder';
import { sweepWorkflow } from './sweep';

// Starters use the signatures in domain/ (they may not import workflow code); these must match them.
({
  fallbackWorkflow,
  importWorkflow,
  journeyWorkflow,
  purgeArchiveWorkflow,
  reconcileWorkflow,
  reminderWorkflow,
  sweepWorkflow,
}) satisfies {
  fallbackWorkflow: FallbackWorkflow;
  reconcileWorkflow: () => Promise<number>;
  purgeArchiveWorkflow: () => Promise<PurgeCounts & { clinics: number }>;
  importWorkflow: (input: ImportInput) => Promise<void>;
  journeyWorkflow: JourneyWorkflow;
  reminderWorkflow: ReminderWorkflow;
  sweepWorkflow: SweepWorkflow;
};

export {
  fallbackWorkflow,
  importWorkflow,
  journeyWorkflow,
  purgeArchiveWorkflow,
  reconcileWorkflow,
  reminderWorkflow,
  sweepWorkflow,
};
