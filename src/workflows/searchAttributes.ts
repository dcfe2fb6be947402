/**
 * Drason's custom search attributes, so ops can filter entity workflows in the Temporal Web UI, e.g.
 * `DrasonOrganizationId = "<org id>" AND DrasonEntityType = "mailbox"`.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SEARCH_ATTRIBUTES = {
  DrasonOrganizationId: 'Keyword',
  DrasonEntityType: 'Keyword',
  DrasonEntityId: 'Keyword',
  DrasonState: 'Keyword',
} as const;

export const OrganizationIdKey = defineSearchAttributeKey('DrasonOrganizationId', SearchAttributeType.KEYWORD);
export const EntityTypeKey = defineSearchAttributeKey('DrasonEntityType', SearchAttributeType.KEYWORD);
export const EntityIdKey = defineSearchAttributeKey('DrasonEntityId', SearchAttributeType.KEYWORD);
export const StateKey = defineSearchAttributeKey('DrasonState', SearchAttributeType.KEYWORD);
