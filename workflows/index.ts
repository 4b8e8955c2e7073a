import type { JourneyWorkflow } from '../domain/journey';
import type { ReminderWorkflow } from '../domain/reminder';
import type { SweepWorkflow } from '../domain/sweep';
import { journeyWorkflow } from './journey';
import { reminderWorkflow } from './reminder';
import { sweepWorkflow } from './sweep';

// Starters use the signatures in domain/ (they may not import workflow code); these must match them.
({ journeyWorkflow, reminderWorkflow, sweepWorkflow }) satisfies {
  journeyWorkflow: JourneyWorkflow;
  reminderWorkflow: ReminderWorkflow;
  sweepWorkflow: SweepWorkflow;
};

export { journeyWorkflow, reminderWorkflow, sweepWorkflow };
