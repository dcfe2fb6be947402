#!/usr/bin/env node
// Builds the operator console (src/console, Preact + TSX) into dist/console/: index.html plus one hashed script and
// one hashed stylesheet (Pico CSS and uPlot's CSS bundled in), and their licences in *.LEGAL.txt. Nothing inline
// (the page works under `script-src 'self'; style-src 'self'`), nothing fetched from elsewhere at run time: the build
// fails if the output names any URL other than an XML namespace.
//
//   node scripts/build-console.mjs            typecheck (src/console/tsconfig.json), then bundle
//   node scripts/build-console.mjs --no-check bundle only
//   node scripts/build-console.mjs --quiet    no summary
//   node scripts/build-console.mjs --if-stale only when dist/console/index.html is missing or older than a file of
//                                             src/console, this script or package-lock.json (scripts/setup.sh)
//
// The output is built in a temporary folder beside dist/console and swapped in whole, so a server reading
// dist/console never sees half a build.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src', 'console');
const out = path.join(root, 'dist', 'console');
const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');
/** Where the API serves the console (src/api/routes/console.ts): the page asks for its assets there. */
const BASE = '/console/';

function fail(message) {
  process.stderr.write(`build-console: ${message}\n`);
  process.exit(1);
}

/** The newest modification time among the console's inputs. */
function newestInput() {
  let newest = 0;
  const visit = (p) => {
    const st = statSync(p);
    if (st.isDirectory()) for (const entry of readdirSync(p)) visit(path.join(p, entry));
    else newest = Math.max(newest, st.mtimeMs);
  };
  visit(source);
  for (const f of [fileURLToPath(import.meta.url), path.join(root, 'package-lock.json')]) if (existsSync(f)) newest = Math.max(newest, statSync(f).mtimeMs);
  return newest;
}

if (args.has('--if-stale')) {
  const index = path.join(out, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestInput()) process.exit(0);
  if (!quiet) process.stdout.write('build-console: dist/console is missing or older than its sources; building it\n');
}

if (!args.has('--no-check')) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(source, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
  } catch {
    fail('the console does not typecheck (see above)');
  }
}

const staging = `${out}.tmp-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });

let result;
try {
  result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [path.join(source, 'main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    outdir: staging,
    entryNames: 'console-[hash]',
    assetNames: 'asset-[hash]',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: path.join(source, 'tsconfig.json'),
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'external',
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    logLevel: 'warning',
  });
} catch {
  rmSync(staging, { recursive: true, force: true });
  fail('esbuild failed (see above)');
}

const outputs = Object.keys(result.metafile.outputs).map((p) => path.relative(staging, path.resolve(root, p)));
const js = outputs.find((p) => p.endsWith('.js'));
const css = outputs.find((p) => p.endsWith('.css'));
if (js === undefined || css === undefined) fail(`expected one .js and one .css output, got ${outputs.join(', ')}`);

// The icon is named by its content too, so it can be cached like the rest.
const iconText = readFileSync(path.join(source, 'favicon.svg'), 'utf8');
const icon = `favicon-${createHash('sha256').update(iconText).digest('hex').slice(0, 10).toUpperCase()}.svg`;
writeFileSync(path.join(staging, icon), iconText);
const template = readFileSync(path.join(source, 'index.html'), 'utf8');
writeFileSync(path.join(staging, 'index.html'), template.replace('{{css}}', BASE + css).replace('{{js}}', BASE + js).replace('{{icon}}', BASE + icon));

// Nothing remote: the only URLs allowed in what the browser loads are XML namespace names (inline SVG icons in Pico's
// CSS), which are identifiers, never fetched.
const NAMESPACE = /^https?:\/\/www\.w3\.org\/(2000\/svg|1999\/xlink|1999\/xhtml|1998\/Math\/MathML|XML\/1998\/namespace)$/;
for (const file of readdirSync(staging)) {
  if (!/\.(js|css|html)$/.test(file)) continue;
  const text = readFileSync(path.join(staging, file), 'utf8');
  const remote = [...text.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"'`)<>]*/gi)]
    .map((m) => m[0])
    .filter((u) => /^https?:/i.test(u) || /^\/\/[a-z0-9-]+\.[a-z]/i.test(u))
    .filter((u) => !NAMESPACE.test(u.replace(/[\\;,]+$/, '')));
  if (remote.length > 0) {
    rmSync(staging, { recursive: true, force: true });
    fail(`${file} names remote URLs, which the console must not load: ${[...new Set(remote)].slice(0, 5).join(', ')}`);
  }
  if (file.endsWith('.html') && (/<script(?![^>]*\bsrc=)[^>]*>/i.test(text) || /<style\b/i.test(text) || /\sstyle=/i.test(text))) {
    rmSync(staging, { recursive: true, force: true });
    fail('index.html must have no inline script or style (strict CSP)');
  }
}

// Swap the new build in whole.
const old = `${out}.old-${process.pid}`;
mkdirSync(path.dirname(out), { recursive: true });
if (existsSync(out)) renameSync(out, old);
renameSync(staging, out);
rmSync(old, { recursive: true, force: true });

if (!quiet) {
  const kb = (f) => `${(statSync(path.join(out, f)).size / 1024).toFixed(1)} kB`;
  process.stdout.write(`build-console: dist/console/index.html, ${js} (${kb(js)}), ${css} (${kb(css)})\n`);
}
