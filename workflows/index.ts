export { reminderWorkflow } from './reminder';
