/** What the API needs from the outside world, handed in by the process entry point (or a test). */
import type { Client } from '@temporalio/client';
import type { RateLimitSettings } from '../config';
import type { Db } from '../db/knex';
import type { Integrations } from '../db/repositories/integrations';
import type { IngestBatcher } from '../services/ingestBatcher';
import type { RelayWaker } from '../services/relayWaker';

export interface ApiDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  adminToken: string | undefined;
  temporalUiUrl: string | undefined;
  publicUrl: string;
  /** Integration secrets, encrypted with the process's keyring. */
  integrations: Integrations;
  rateLimits: RateLimitSettings;
  smartleadSyncIntervalMinutes: number;
  /** Stores ingested events, concurrent requests of one organization in one transaction (group commit). */
  ingest: Pick<IngestBatcher, 'ingest'>;
  /** Poked after ingestion queued events, so the relay counts them at once. */
  relayWaker: Pick<RelayWaker, 'poke' | 'stop'>;
}
