/**
 * The ordered list of migrations. Listing them here (rather than scanning a folder) makes them load the same
 * way from TypeScript sources in tests and compiled JavaScript in production.
 */
import type { Knex } from 'knex';
import * as m001 from './001_foundation';
import * as m002 from './002_tenancy';
import * as m003 from './003_retention';
import * as m004 from './004_entity_keys';
import * as m005 from './005_event_pipeline';
import * as m006 from './006_mailbox_engine';
import * as m007 from './007_escalation';
import * as m008 from './008_campaign_senders';
import * as m009 from './009_routing_versions';
import * as m010 from './010_lead_lifecycle';
import * as m011 from './011_lead_completion';
import * as m012 from './012_audit_chain';
import * as m013 from './013_console_sessions';
import * as m014 from './014_smartlead_budget';
import * as m015 from './015_metrics';
import * as m016 from './016_single_trip_engine_io';
import * as m017 from './017_smartlead_shared_hold';

export interface NamedMigration extends Knex.Migration {
  name: string;
}

export const migrations: NamedMigration[] = [
  { name: '001_foundation', ...m001 },
  { name: '002_tenancy', ...m002 },
  { name: '003_retention', ...m003 },
  { name: '004_entity_keys', ...m004 },
  { name: '005_event_pipeline', ...m005 },
  { name: '006_mailbox_engine', ...m006 },
  { name: '007_escalation', ...m007 },
  { name: '008_campaign_senders', ...m008 },
  { name: '009_routing_versions', ...m009 },
  { name: '010_lead_lifecycle', ...m010 },
  { name: '011_lead_completion', ...m011 },
  { name: '012_audit_chain', ...m012 },
  { name: '013_console_sessions', ...m013 },
  { name: '014_smartlead_budget', ...m014 },
  { name: '015_metrics', ...m015 },
  { name: '016_single_trip_engine_io', ...m016 },
  { name: '017_smartlead_shared_hold', ...m017 },
];
