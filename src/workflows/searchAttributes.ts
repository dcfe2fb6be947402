/**
 * Drason's custom search attributes, so ops can filter entity workflows in the Temporal Web UI, e.g.
 * `DrasonOrganizationId = "<org id>" AND DrasonEntityType = "mailbox"`, `DrasonState = "paused"` or
 * `DrasonRiskScore > 70`. No personal data beyond the mailbox address that is already the entity id.
 * Registered by the embedded dev server (src/embedded/temporal.ts), docker-compose.temporal.yml and the README.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SEARCH_ATTRIBUTES = {
  DrasonOrganizationId: 'Keyword',
  DrasonEntityType: 'Keyword',
  DrasonEntityId: 'Keyword',
  DrasonState: 'Keyword',
  DrasonDomain: 'Keyword',
  DrasonRiskScore: 'Int',
} as const;

export const OrganizationIdKey = defineSearchAttributeKey('DrasonOrganizationId', SearchAttributeType.KEYWORD);
export const EntityTypeKey = defineSearchAttributeKey('DrasonEntityType', SearchAttributeType.KEYWORD);
export const EntityIdKey = defineSearchAttributeKey('DrasonEntityId', SearchAttributeType.KEYWORD);
export const StateKey = defineSearchAttributeKey('DrasonState', SearchAttributeType.KEYWORD);
export const DomainKey = defineSearchAttributeKey('DrasonDomain', SearchAttributeType.KEYWORD);
export const RiskScoreKey = defineSearchAttributeKey('DrasonRiskScore', SearchAttributeType.INT);
