/**
 * Entity workflow ids: derived from organization and entity so every signal for the same mailbox reaches the same
 * long-lived workflow, and ops can find it in the Web UI by typing the id. Pure: imported by API and workflows.
 */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export function mailboxWorkflowId(organizationId: string, mailboxEmail: string): string {
  return `mailbox/${organizationId}/${normalizeEmail(mailboxEmail)}`;
}

export function domainWorkflowId(organizationId: string, domain: string): string {
  return `domain/${organizationId}/${domain.trim().toLowerCase()}`;
}

export function campaignWorkflowId(organizationId: string, campaignId: string): string {
  return `campaign/${organizationId}/${campaignId.trim()}`;
}

/** A campaign's lead push workflow (src/workflows/leadPushWorkflow.ts). */
export function leadPushWorkflowId(organizationId: string, campaignId: string): string {
  return `leadPush/${organizationId}/${campaignId.trim()}`;
}

export function domainOf(email: string): string {
  const at = email.lastIndexOf('@');
  return normalizeEmail(email.slice(at + 1));
}

/** The Smartlead reconciliation of one organization: its schedule, and the id of an on-demand run. */
export function smartleadSyncScheduleId(organizationId: string): string {
  return `smartlead-sync/${organizationId}`;
}
export function smartleadSyncWorkflowId(organizationId: string): string {
  return `smartlead-sync/${organizationId}/on-demand`;
}
