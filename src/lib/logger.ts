/** One winston logger for the process. JSON in production, compact text in a terminal. */
import winston from 'winston';

const SECRET_KEYS = /(api[_-]?key|authorization|token|secret|password)/i;

/** Redacts secret-looking fields before anything is written (defence in depth: callers should not log secrets). */
const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_KEYS.test(key) && typeof info[key] === 'string') info[key] = '[redacted]';
  }
  return info;
});

export const logger = winston.createLogger({
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'warn' : 'info'),
  format: winston.format.combine(
    redact(),
    winston.format.timestamp(),
    winston.format.errors({ stack: true }),
    process.env.NODE_ENV === 'production' || !process.stdout.isTTY
      ? winston.format.json()
      : winston.format.printf(({ timestamp, level, message, component, ...rest }) => {
          const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
          return `${String(timestamp)} ${level} [${String(component ?? 'drason')}] ${String(message)}${extra}`;
        }),
  ),
  transports: [new winston.transports.Console()],
});

export function componentLogger(component: string): winston.Logger {
  return logger.child({ component });
}
