export { journeyWorkflow } from './journey';
export { reminderWorkflow } from './reminder';
export { sweepWorkflow } from './sweep';
