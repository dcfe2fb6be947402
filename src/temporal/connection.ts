/** Temporal connection settings shared by the worker and the API (external cluster, Temporal Cloud, or embedded). */
import fs from 'node:fs';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  /** The worker's workflow cache (TEMPORAL_MAX_CACHED_WORKFLOWS); the SDK's default when absent. */
  maxCachedWorkflows?: number;
  tls?: boolean;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  apiKey?: string;
}

function tlsOptions(s: TemporalSettings): ConnectionOptions['tls'] {
  if (s.tlsCertPath !== undefined && s.tlsKeyPath !== undefined) {
    return { clientCertPair: { crt: fs.readFileSync(s.tlsCertPath), key: fs.readFileSync(s.tlsKeyPath) } };
  }
  return s.tls === true || s.apiKey !== undefined ? true : undefined;
}

export async function connectClient(s: TemporalSettings): Promise<{ client: Client; connection: Connection }> {
  const tls = tlsOptions(s);
  const connection = await Connection.connect({
    address: s.address,
    ...(tls === undefined ? {} : { tls }),
    ...(s.apiKey === undefined ? {} : { apiKey: s.apiKey }),
  });
  return { client: new Client({ connection, namespace: s.namespace }), connection };
}

export async function connectWorkerConnection(s: TemporalSettings): Promise<NativeConnection> {
  const tls = tlsOptions(s) as NativeConnectionOptions['tls'];
  return NativeConnection.connect({
    address: s.address,
    ...(tls === undefined ? {} : { tls }),
    ...(s.apiKey === undefined ? {} : { apiKey: s.apiKey }),
  });
}
