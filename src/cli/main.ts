#!/usr/bin/env node
/**
 * `npx drason …`: the ops CLI's entry point (package.json `bin`, built to dist/src/cli/main.js). Drason's logs go to
 * stderr here (warn and above unless LOG_LEVEL says otherwise), so stdout carries only the command's output.
 */
import winston from 'winston';
import { logger } from '../lib/logger';
import { runCli } from './program';

logger.level = process.env.LOG_LEVEL ?? 'warn';
logger.clear().add(new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) }));

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`drason: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
