/**
 * One winston logger for the process. JSON in production (and whenever stdout is not a terminal), compact text in a
 * terminal. Every line carries what correlates it:
 *  - `requestId` and `organizationId` while serving an HTTP request (src/lib/requestContext.ts, set by src/api/app.ts);
 *  - `workflowId`, `runId`, `activityType` (and the `organizationId` in the workflow id) inside a Temporal activity;
 *  - the Temporal SDK's own logs (Runtime logger, `temporalLogger()`) come through here too, with its metadata.
 * Redaction happens before anything is written (defence in depth: callers should not log personal data or secrets):
 * secret-looking fields are dropped, Drason's bearer secrets (drk_, whk_, dcs_), bearer headers and `api_key=` query
 * values are masked, and email addresses keep their domain but not their local part (`<8 hex of its hash>@domain`,
 * the same for the same address, so lines still correlate).
 */
import { createHash } from 'node:crypto';
import { Context as ActivityContext } from '@temporalio/activity';
import type { Logger as TemporalLogger, LogLevel as TemporalLogLevel, LogMetadata } from '@temporalio/common';
import winston from 'winston';
import { currentRequestContext } from './requestContext';

const SECRET_KEYS = /(api[_-]?key|authorization|token|secret|password|cookie|ciphertext)/i;
// Local parts as addresses are written in practice (not `/`, so a workflow id `mailbox/<org>/<email>` keeps its prefix).
const EMAIL = /([A-Za-z0-9._%+'-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/g;
const SECRET_VALUES = [/\b(drk|whk|dcs)_[A-Za-z0-9_-]{8,}/g, /\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi, /\b(api_key)=[^&\s"']+/gi];

/** Emails masked (local part → 8 hex of its hash), bearer secrets and `api_key=` values replaced. */
export function redactText(text: string): string {
  let out = text;
  for (const pattern of SECRET_VALUES) out = out.replace(pattern, (_m, kind: string) => `${kind}${kind.toLowerCase() === 'api_key' ? '=' : kind.toLowerCase() === 'bearer' ? ' ' : '_'}[redacted]`);
  return out.replace(EMAIL, (_m, local: string, domain: string) => `${createHash('sha256').update(local.toLowerCase()).digest('hex').slice(0, 8)}@${domain}`);
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactText(value);
  if (depth > 5 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return redactText(value.stack ?? `${value.name}: ${value.message}`);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = SECRET_KEYS.test(key) && v !== undefined && v !== null ? '[redacted]' : redactValue(v, depth + 1);
  return out;
}

const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    const value = info[key];
    info[key] = SECRET_KEYS.test(key) && typeof value === 'string' ? '[redacted]' : redactValue(value, 0);
  }
  if (typeof info.message === 'string') info.message = redactText(info.message);
  if (typeof info.stack === 'string') info.stack = redactText(info.stack);
  return info;
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The activity being run, if any (its workflow id names the organization: `mailbox/<organization>/<email>`). */
function activityFields(): Record<string, string> | undefined {
  let info;
  try {
    info = ActivityContext.current().info;
  } catch {
    return undefined; // not inside an activity
  }
  const fields: Record<string, string> = { activityType: info.activityType };
  if (info.workflowExecution !== undefined) {
    fields.workflowId = info.workflowExecution.workflowId;
    fields.runId = info.workflowExecution.runId;
    const organization = info.workflowExecution.workflowId.split('/')[1];
    if (organization !== undefined && UUID.test(organization)) fields.organizationId = organization;
  }
  return fields;
}

/** Correlation fields from the request or activity being served; fields the caller set explicitly win. */
const correlate = winston.format((info) => {
  const request = currentRequestContext();
  if (request !== undefined) {
    info.requestId ??= request.requestId;
    const organizationId = request.organizationId;
    if (organizationId !== undefined) info.organizationId ??= organizationId;
  }
  const activity = activityFields();
  if (activity !== undefined) for (const [key, value] of Object.entries(activity)) info[key] ??= value;
  return info;
});

/** The winston format chain: correlation, redaction, timestamp, then JSON (or text in a terminal). */
export function logFormat(json = process.env.NODE_ENV === 'production' || !process.stdout.isTTY): winston.Logform.Format {
  return winston.format.combine(
    winston.format.errors({ stack: true }),
    correlate(),
    redact(),
    winston.format.timestamp(),
    json
      ? winston.format.json()
      : winston.format.printf(({ timestamp, level, message, component, ...rest }) => {
          const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
          return `${String(timestamp)} ${level} [${String(component ?? 'drason')}] ${String(message)}${extra}`;
        }),
  );
}

export const logger = winston.createLogger({
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'warn' : 'info'),
  format: logFormat(),
  transports: [new winston.transports.Console()],
});

// winston runs the whole format chain (correlation, redaction, timestamp, JSON) on every line and only then lets its
// transports drop the levels they do not write: each request's `http` line cost about 15 µs of CPU and garbage
// without ever being written at the default level. A line no transport would write stops here instead (child
// loggers write through this one; `isLevelEnabled` also honours a transport's own level).
const writeThroughFormats = logger.write.bind(logger);
logger.write = ((info: { level?: string }, ...rest: unknown[]): boolean =>
  typeof info.level === 'string' && !logger.isLevelEnabled(info.level) ? true : (writeThroughFormats as (...a: unknown[]) => boolean)(info, ...rest)) as typeof logger.write;

export function componentLogger(component: string): winston.Logger {
  return logger.child({ component });
}

const TEMPORAL_LEVELS: Record<TemporalLogLevel, string> = { TRACE: 'silly', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/**
 * The Temporal SDK's Runtime logger, writing through winston (component `temporal`): the worker's own lines, the
 * Rust core's lines (forwarded), and workflow and activity logs with the SDK's metadata (workflowId, runId,
 * activityType, sdkComponent …). `level` is the most verbose Temporal level passed on.
 */
export function temporalLogger(level: TemporalLogLevel = 'WARN'): TemporalLogger {
  const order: TemporalLogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
  const min = order.indexOf(level);
  const target = componentLogger('temporal');
  const log = (l: TemporalLogLevel, message: string, meta?: LogMetadata): void => {
    if (order.indexOf(l) < min) return;
    const fields: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(meta ?? {})) if (key !== 'level' && key !== 'message') fields[key] = typeof value === 'bigint' ? String(value) : value;
    target.log(TEMPORAL_LEVELS[l], message, fields);
  };
  return {
    log,
    trace: (m, meta) => log('TRACE', m, meta),
    debug: (m, meta) => log('DEBUG', m, meta),
    info: (m, meta) => log('INFO', m, meta),
    warn: (m, meta) => log('WARN', m, meta),
    error: (m, meta) => log('ERROR', m, meta),
  };
}
