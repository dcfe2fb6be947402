/**
 * The ops CLI's own configuration, like the rest of Drason: environment variables parsed once with zod (the
 * database commands read src/config as the worker entry points do). A flag (`--api-url`, `--key`, `--admin-token`)
 * overrides its variable; the merged values are validated by the same schema, so a bad flag and a bad variable are
 * refused alike, naming what was wrong (exit 2: nothing was attempted).
 */
import { z } from 'zod';
import { UsageError } from './errors';

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

export const cliConfigSchema = z.object({
  DRASON_API_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .default('http://127.0.0.1:3000')
    .describe('Base URL of the Drason API the CLI calls (flag --api-url).'),
  DRASON_API_KEY: optionalString.describe("An organization's API key for the API commands (flag --key)."),
  DRASON_ADMIN_TOKEN: optionalString.describe('The platform token, for `drason organizations create` (flag --admin-token).'),
});

export type CliConfig = z.infer<typeof cliConfigSchema>;

/** Which flag overrides which variable, for messages. */
const FLAG_OF: Record<keyof CliConfig, string> = { DRASON_API_URL: '--api-url', DRASON_API_KEY: '--key', DRASON_ADMIN_TOKEN: '--admin-token' };

function parse(input: Record<string, string | undefined>): CliConfig {
  const result = cliConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? '(environment)') as keyof CliConfig;
    return `${variable} (or ${FLAG_OF[variable] ?? 'its flag'}): ${issue.message}`;
  });
  throw new UsageError(`invalid configuration: ${problems.join('; ')}`);
}

let fromEnv: CliConfig | undefined;

/** The environment's values, parsed on first use. */
export function cliEnv(env: NodeJS.ProcessEnv = process.env): CliConfig {
  fromEnv ??= parse({ DRASON_API_URL: env.DRASON_API_URL, DRASON_API_KEY: env.DRASON_API_KEY, DRASON_ADMIN_TOKEN: env.DRASON_ADMIN_TOKEN });
  return fromEnv;
}

export interface ApiFlags {
  apiUrl?: string;
  key?: string;
  adminToken?: string;
}

/** The environment's values with the given flags on top, validated again. */
export function cliConfig(flags: ApiFlags): CliConfig {
  const env = cliEnv();
  return parse({
    DRASON_API_URL: flags.apiUrl ?? env.DRASON_API_URL,
    DRASON_API_KEY: flags.key ?? env.DRASON_API_KEY,
    DRASON_ADMIN_TOKEN: flags.adminToken ?? env.DRASON_ADMIN_TOKEN,
  });
}
