/**
 * Static checks of the deployment files (issue 12): the Dockerfile, .dockerignore and the production-like
 * docker-compose.yml. No container runs here. When a compose tool is installed, `docker compose config -q` (or
 * `docker-compose`) validates the file as Compose itself reads it; the YAML checks below run either way.
 *
 * What "required" means is derived from the code, so adding a required variable without giving it to the compose
 * file fails this test: a variable the zod schema (src/config) cannot leave unset, plus what the production entry
 * points refuse to start without (externalSettings for api and worker; src/workers/migrate.ts for migrate).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ConfigError, configSchema, parseConfig, projectRoot } from '../../src/config';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/searchAttributes';
import { externalSettings } from '../../src/workers/settings';

const ROOT = projectRoot();
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  user?: string;
  depends_on?: Record<string, { condition?: string }> | string[];
  deploy?: { replicas?: number };
  healthcheck?: { disable?: boolean };
  restart?: string;
  ports?: string[];
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const commandOf = (s: Service): string => [s.entrypoint ?? [], s.command ?? []].flat().join(' ');
type Role = 'api' | 'worker' | 'migrate';
const roleOf = (s: Service): Role | undefined => /dist\/src\/workers\/(api|worker|migrate)\.js/.exec(commandOf(s))?.[1] as Role | undefined;
const drason = Object.entries(services).filter(([, s]) => roleOf(s) !== undefined);
const ofRole = (role: Role) => drason.filter(([, s]) => roleOf(s) === role);
const instances = (role: Role): number => ofRole(role).reduce((n, [, s]) => n + (s.deploy?.replicas ?? 1), 0);
const envOf = (s: Service): Record<string, string> => Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]));

/** Variables the zod schema cannot leave unset (none today: every one has a default or is optional). */
const schemaRequired = Object.entries(configSchema.shape)
  .filter(([, schema]) => !(schema as { safeParse(v: unknown): { success: boolean } }).safeParse(undefined).success)
  .map(([name]) => name);

/** What externalSettings (api.ts, worker.ts) refuses to start without, asked of the code itself. */
function productionRequired(): string[] {
  try {
    externalSettings(parseConfig({}));
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.variable);
    throw error;
  }
  return [];
}

/** What src/workers/migrate.ts refuses to start without (it names each in a ConfigError). */
const migrateRequired = [...read('src/workers/migrate.ts').matchAll(/variable: '([A-Z0-9_]+)'/g)].map((m) => m[1]!);

/** The stages of a Dockerfile: FROM line and the instructions under it. */
function stages(dockerfile: string): { from: string; lines: string[] }[] {
  const out: { from: string; lines: string[] }[] = [];
  const joined = dockerfile.replace(/\\\n/g, ' ');
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (/^FROM\s/i.test(line)) out.push({ from: line, lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

describe('deployment: Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const all = stages(dockerfile);
  const runtime = all.at(-1)!;

  it('is multi-stage: builds with every dependency, ships production dependencies only', () => {
    assert.ok(all.length >= 2, 'at least a build and a runtime stage');
    const build = all.find((s) => s.lines.some((l) => /^RUN .*npm run build/.test(l)));
    assert.ok(build, 'a stage runs npm run build (TypeScript and the console)');
    assert.ok(build.lines.some((l) => /^RUN npm ci(?!.*--omit=dev)/.test(l)), 'the build stage installs dev dependencies too (tsc, esbuild)');
    assert.ok(all.some((s) => s.lines.some((l) => /^RUN npm ci .*--omit=dev/.test(l))), 'production dependencies are installed with --omit=dev');
    assert.ok(!runtime.lines.some((l) => /^RUN .*npm (ci|install)(?!.*--omit=dev)/.test(l)), 'the runtime stage installs no dev dependencies');
    assert.ok(runtime.lines.some((l) => /^COPY --from=\S+ .*dist/.test(l)), 'the runtime copies the built dist/ from the build stage');
    assert.match(runtime.from, /^FROM node:20[\w.-]*slim/i, 'a slim Node 20 runtime');
  });

  it('runs as a non-root user with NODE_ENV=production', () => {
    const user = runtime.lines.filter((l) => /^USER\s/i.test(l)).at(-1);
    assert.ok(user, 'the runtime stage sets USER');
    assert.doesNotMatch(user, /^USER\s+(root|0)(:|\s|$)/i);
    assert.ok(runtime.lines.some((l) => /^ENV .*NODE_ENV=production/.test(l)));
  });

  it('has a HEALTHCHECK on the API /healthz and starts the API by default; every entry point it names exists', () => {
    const health = runtime.lines.find((l) => /^HEALTHCHECK\s/i.test(l));
    assert.ok(health?.includes('/healthz'), 'HEALTHCHECK probes /healthz');
    assert.match(runtime.lines.find((l) => /^CMD\s/.test(l)) ?? '', /dist\/src\/workers\/api\.js/);
    for (const role of ['api', 'worker', 'migrate']) assert.ok(fs.existsSync(path.join(ROOT, `src/workers/${role}.ts`)), role);
  });

  it('.dockerignore keeps local data, secrets and dependencies out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const entry of ['.data', '.env', 'node_modules', 'dist', '.git', '.tools']) assert.ok(ignored.includes(entry), entry);
  });
});

describe('deployment: docker-compose.yml', () => {
  it('has the whole production-like topology', () => {
    for (const name of ['temporal-postgresql', 'temporal', 'temporal-setup', 'temporal-ui', 'drason-postgresql', 'drason-db-setup', 'migrate', 'proxy']) {
      assert.ok(services[name], `service ${name}`);
    }
    assert.match(services['temporal']!.image ?? '', /^temporalio\/auto-setup:/);
    assert.equal(services['temporal']!.environment?.['DB'], 'postgres12', 'Temporal persists to PostgreSQL');
  });

  it('registers every search attribute Drason upserts', () => {
    const setup = commandOf(services['temporal-setup']!);
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) assert.ok(setup.includes(`${name}:${type}`), name);
  });

  it('runs two API and two worker instances, and one migrate', () => {
    assert.equal(instances('api'), 2);
    assert.equal(instances('worker'), 2);
    assert.equal(instances('migrate'), 1);
    assert.equal(ofRole('migrate')[0]![1].restart, 'no', 'migrate is a one-shot');
  });

  it('runs every Drason process from the one image, as a non-root user', () => {
    const images = new Set(drason.map(([, s]) => s.image));
    assert.equal(images.size, 1, `one image: ${[...images].join(', ')}`);
    for (const [name, s] of drason) {
      if (s.user !== undefined) assert.doesNotMatch(s.user, /^(root|0)(:|$)/, `${name} runs as ${s.user}`);
    }
  });

  it('starts api and worker only after migrate succeeded, and migrate after the roles exist', () => {
    for (const [name, s] of [...ofRole('api'), ...ofRole('worker')]) {
      const deps = s.depends_on as Record<string, { condition?: string }>;
      assert.equal(deps['migrate']?.condition, 'service_completed_successfully', name);
    }
    const migrateDeps = ofRole('migrate')[0]![1].depends_on as Record<string, { condition?: string }>;
    assert.equal(migrateDeps['drason-db-setup']?.condition, 'service_completed_successfully');
  });

  it('gives api and worker every variable the production entry points require, and migrate what it requires', () => {
    const required = [...new Set([...schemaRequired, ...productionRequired()])];
    assert.ok(required.includes('DATABASE_URL') && required.includes('TEMPORAL_ADDRESS'), `derived from the code: ${required.join(', ')}`);
    for (const [name, s] of [...ofRole('api'), ...ofRole('worker')]) {
      const env = envOf(s);
      for (const variable of required) assert.ok(env[variable] !== undefined && env[variable] !== '', `${name} lacks ${variable}`);
    }
    assert.ok(migrateRequired.includes('DATABASE_OWNER_URL'));
    const migrateEnv = envOf(ofRole('migrate')[0]![1]);
    for (const variable of [...schemaRequired, ...migrateRequired]) assert.ok(migrateEnv[variable] !== undefined, `migrate lacks ${variable}`);
  });

  it('configures Drason only with variables src/config knows (a misspelt one would be silently ignored)', () => {
    const known = new Set(Object.keys(configSchema.shape));
    for (const [name, s] of drason) {
      for (const variable of Object.keys(envOf(s))) assert.ok(known.has(variable), `${name}: ${variable} is not in src/config`);
    }
  });

  it('connects the application as the non-owner role the migrations grant to, and the owner only to migrate', () => {
    const user = (url: string): string => /^postgres(?:ql)?:\/\/([^:@/]+)/.exec(url)?.[1] ?? '';
    const migrateEnv = envOf(ofRole('migrate')[0]![1]);
    const owner = user(migrateEnv['DATABASE_OWNER_URL']!);
    for (const [name, s] of [...ofRole('api'), ...ofRole('worker')]) {
      const env = envOf(s);
      assert.equal(env['DATABASE_OWNER_URL'], undefined, `${name} never gets the owner's credentials`);
      assert.notEqual(user(env['DATABASE_URL']!), owner, name);
      assert.equal(user(env['DATABASE_URL']!), user(migrateEnv['DATABASE_URL']!), `${name}: migrate grants to the role ${name} connects as`);
      assert.match(env['TEMPORAL_ADDRESS']!, /^temporal:7233$/);
    }
    const setup = commandOf(services['drason-db-setup']!);
    assert.match(setup, new RegExp(`create role ${user(migrateEnv['DATABASE_URL']!)} login nobypassrls`), 'the application role cannot bypass row-level security');
    assert.match(setup, new RegExp(`create database \\w+ owner ${owner}`));
  });

  it('makes the APIs reachable: listening on all interfaces, behind the proxy, with the image health check', () => {
    for (const [name, s] of ofRole('api')) {
      assert.equal(envOf(s)['HOST'], '0.0.0.0', name);
      assert.notEqual(s.healthcheck?.disable, true, `${name} keeps the HEALTHCHECK`);
    }
    for (const [name, s] of [...ofRole('worker'), ...ofRole('migrate')]) assert.equal(s.healthcheck?.disable, true, `${name} has no HTTP server`);
    const proxyDeps = Object.keys(services['proxy']!.depends_on ?? {});
    assert.deepEqual(proxyDeps.sort(), ofRole('api').map(([name]) => name).sort());
  });

  it('is valid for Compose itself when a compose tool is installed', function () {
    const env = {
      ...process.env,
      POSTGRES_PASSWORD: 'p',
      DRASON_OWNER_PASSWORD: 'o',
      DRASON_APP_PASSWORD: 'a',
      DRASON_ADMIN_TOKEN: 'x'.repeat(24),
      DRASON_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32).toString('base64')}`,
    };
    for (const [cmd, args] of [
      ['docker', ['compose']],
      ['docker-compose', []],
    ] as const) {
      const version = spawnSync(cmd, [...args, 'version'], { encoding: 'utf8', timeout: 20_000 });
      if (version.status !== 0) continue;
      const result = spawnSync(cmd, [...args, '-f', path.join(ROOT, 'docker-compose.yml'), 'config', '-q'], { encoding: 'utf8', env, timeout: 60_000 });
      assert.equal(result.status, 0, result.stderr);
      return;
    }
    this.skip(); // neither `docker compose` nor `docker-compose`: the YAML checks above stand alone
  });
});
