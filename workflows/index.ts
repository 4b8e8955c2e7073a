export { journeyWorkflow } from './journey';
export { reminderWorkflow } from './reminder';
