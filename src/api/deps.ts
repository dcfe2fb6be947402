/** What the API needs from the outside world, handed in by the process entry point (or a test). */
import type { Client } from '@temporalio/client';
import type { Db } from '../db/knex';

export interface ApiDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  adminToken: string | undefined;
  temporalUiUrl: string | undefined;
  publicUrl: string;
}
