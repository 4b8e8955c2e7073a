// The CLI compiled ahead of time by `npm run build` (and `npm test`): each command then starts on about
// half the CPU it takes through tsx, whose loader compiles and resolves every module of the command on the
// way. Plain JavaScript, because bin/carebell.js decides with it before any TypeScript can load.
//
// Like the workflow bundle, it is used only while it matches its sources: the build records the files it
// compiled (and where the checkout is, since each module still finds its locales, journeys and migrations
// beside its source), and a command hashes them again before trusting the build. A stale one is ignored.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = path.join(root, 'dist', 'cli');
const stampFile = path.join(root, 'dist', 'cli.json');

/** @param {string[]} files relative to the checkout */
async function digest(files) {
  const hash = createHash('sha256');
  for (const file of files)
    hash
      .update(file)
      .update('\0')
      .update(await fs.readFile(path.join(root, file)));
  return hash.digest('hex');
}

/** The prebuilt entry point's URL when it matches the sources, else undefined. */
export async function prebuiltCli() {
  try {
    const stamp = JSON.parse(await fs.readFile(stampFile, 'utf8'));
    if (stamp.root !== root || stamp.digest !== (await digest(stamp.inputs))) return undefined;
    return pathToFileURL(path.join(outDir, 'main.mjs')).href;
  } catch {
    return undefined;
  }
}

/** Compiles cli/main.ts and what it imports into dist/cli; packages stay in node_modules. */
export async function buildCli() {
  const { build } = await import('esbuild');
  const staging = `${outDir}.${process.pid}.partial`;
  await fs.rm(staging, { recursive: true, force: true });
  const { metafile } = await build({
    absWorkingDir: root,
    entryPoints: ['cli/main.ts'],
    outdir: staging,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    // Commands load their own modules on demand (`await import`), and keep doing so as chunks.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    metafile: true,
    logLevel: 'error',
    plugins: [sourceLocations, packageSubpaths],
  });
  // The stamp first: a command starting meanwhile runs the TypeScript, not a half-replaced build.
  await fs.rm(stampFile, { force: true });
  await fs.rm(outDir, { recursive: true, force: true });
  await fs.rename(staging, outDir);
  // The stamp last: it never vouches for a build not yet in place.
  const inputs = [...Object.keys(metafile.inputs), 'package-lock.json'].sort();
  await fs.writeFile(stampFile, JSON.stringify({ root, inputs, digest: await digest(inputs) }));
  return { dir: outDir, modules: inputs.length - 1 };
}

/** @type {import('esbuild').Plugin} Each module's import.meta.url stays its source file's. */
const sourceLocations = {
  name: 'source-locations',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => ({
      contents: (await fs.readFile(args.path, 'utf8')).replaceAll(
        'import.meta.url',
        JSON.stringify(pathToFileURL(args.path).href),
      ),
      loader: 'ts',
    }));
  },
};

const exportMaps = new Map();
/**
 * @type {import('esbuild').Plugin} Node's ESM loader resolves `pkg/lib/x` only through the package's
 * exports map; a package without one needs the file's extension, which tsx used to add.
 */
const packageSubpaths = {
  name: 'package-subpaths',
  setup(build) {
    build.onResolve({ filter: /^(@[^/]+\/[^/]+|[^@./][^/]*)\/.+/ }, async (args) => {
      if (args.path.startsWith('node:')) return undefined;
      const name = /** @type {string} */ (/^(@[^/]+\/[^/]+|[^/]+)/.exec(args.path)?.[1]);
      if (!exportMaps.has(name)) {
        const manifest = JSON.parse(
          await fs.readFile(path.join(root, 'node_modules', name, 'package.json'), 'utf8'),
        );
        exportMaps.set(name, 'exports' in manifest);
      }
      const exact = exportMaps.get(name) || /\.(c|m)?js$|\.json$/.test(args.path);
      return { path: exact ? args.path : `${args.path}.js`, external: true };
    });
  },
};
