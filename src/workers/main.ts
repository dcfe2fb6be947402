/** Shared process plumbing for entry points: config errors print cleanly, signals stop components in order. */
import { ConfigError } from '../config';
import { AppError } from '../lib/errors';
import { logger } from '../lib/logger';

export function runMain(name: string, start: () => Promise<{ stop(): Promise<void> }>): void {
  let handle: { stop(): Promise<void> } | undefined;
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info(`${name}: ${signal} received, stopping`);
    const force = setTimeout(() => {
      logger.error(`${name}: did not stop within 30 s; exiting`);
      process.exit(1);
    }, 30_000);
    force.unref();
    try {
      await handle?.stop();
      process.exitCode = 0;
    } catch (error) {
      logger.error(`${name}: error while stopping`, { error: String(error) });
      process.exitCode = 1;
    }
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  start()
    .then((h) => {
      handle = h;
      if (stopping) void h.stop();
    })
    .catch((error: unknown) => {
      if (error instanceof ConfigError || (error instanceof AppError && error.catastrophic)) {
        process.stderr.write(`${name}: ${error.message}\n`);
      } else {
        logger.error(`${name}: failed to start`, { error: error instanceof Error ? error.stack : String(error) });
      }
      process.exit(1);
    });
}
