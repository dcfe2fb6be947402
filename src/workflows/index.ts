/** Every workflow the Drason worker runs (the worker bundles this file). */
export { campaignWorkflow, domainWorkflow } from './escalationWorkflow';
export { mailboxWorkflow } from './mailboxWorkflow';
export { smartleadSyncWorkflow } from './smartleadSyncWorkflow';
export { leadPushWorkflow } from './leadPushWorkflow';
