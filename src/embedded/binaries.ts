/**
 * Finds the Temporal CLI and the time-skipping test server: explicit path variable, then PATH, then the
 * git-ignored .tools/ folder that `scripts/setup.sh` fills from the Python package registry.
 */
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../config';
import { AppError } from '../lib/errors';

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function locate(name: string, explicit: string | undefined, variable: string): string {
  if (explicit !== undefined && explicit !== '') {
    if (!fs.existsSync(explicit)) {
      throw new AppError('tool_missing', `${variable}=${explicit} does not exist.`, 500, { catastrophic: true });
    }
    return explicit;
  }
  const found = onPath(name) ?? path.join(projectRoot(), '.tools', 'venv', 'bin', name);
  if (!fs.existsSync(found)) {
    throw new AppError(
      'tool_missing',
      `${name} not found (set ${variable}, put it on PATH, or run \`npm run setup\` to install it into .tools/).`,
      500,
      { catastrophic: true },
    );
  }
  return found;
}

export function temporalCliPath(explicit = process.env.TEMPORAL_CLI_PATH): string {
  return locate('temporal', explicit, 'TEMPORAL_CLI_PATH');
}

export function temporalTestServerPath(explicit = process.env.TEMPORAL_TEST_SERVER_PATH): string {
  return locate('temporal-test-server', explicit, 'TEMPORAL_TEST_SERVER_PATH');
}
