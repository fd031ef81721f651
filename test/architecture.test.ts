import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { it } from 'node:test';

// The plan of the code, checked on the code itself: which folder may import which, and no import cycles.
const root = resolve(import.meta.dirname, '..');

/** The product: what runs in production. It never imports a tool, a test or a load script. */
const PRODUCT = ['common', 'gateway', 'workers', 'openapi'];
/** Every top-level folder, each with its role; a new one must be placed here before it can land. */
const FOLDERS: Record<string, 'product' | 'load' | 'tools' | 'test' | 'docs' | 'deploy'> = {
  common: 'product',
  gateway: 'product',
  workers: 'product',
  openapi: 'product',
  load: 'load',
  tools: 'tools',
  test: 'test',
  docs: 'docs',
  deploy: 'deploy',
};
/** Folders of tools/ that no npm script runs: libraries the tools share. */
const SHARED_TOOL_LIBRARIES = ['traces'];
const SOURCE = /\.(ts|mjs|js)$/;

async function sourceFiles(folder: string): Promise<string[]> {
  const entries = await readdir(join(root, folder), { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && SOURCE.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

/** Every project file each file imports (relative imports, static and dynamic; packages are not part of the plan). */
async function importGraph(): Promise<Map<string, string[]>> {
  const folders = Object.keys(FOLDERS).filter((f) => FOLDERS[f] !== 'docs' && FOLDERS[f] !== 'deploy');
  const files = (await Promise.all(folders.map(sourceFiles))).flat();
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = await readFile(join(root, file), 'utf8');
    const specifiers = [
      ...text.matchAll(/(?:^\s*(?:import|export)\b[^'"]*?from\s+|^\s*import\s+|\bimport\(\s*)'(\.[^']+)'/gm),
    ].map((m) => m[1]!);
    graph.set(
      file,
      specifiers.map((s) => relative(root, resolve(root, dirname(file), s))),
    );
  }
  return graph;
}

const graph = await importGraph();
const under = (folder: string) => (file: string) => file.startsWith(`${folder}/`);
const isProduct = (file: string) => PRODUCT.some((f) => under(f)(file));
const arrows = (from: (file: string) => boolean, to: (file: string) => boolean) =>
  [...graph].flatMap(([file, targets]) => (from(file) ? targets.filter(to).map((t) => `${file} → ${t}`) : []));

it('When the root is listed, then every folder has a known role and the product sits beside one tools folder', async () => {
  const entries = await readdir(root, { withFileTypes: true });
  const folders = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules')
    .map((e) => e.name);
  assert.deepEqual(
    folders.filter((f) => !(f in FOLDERS)),
    [],
    'a new top-level folder: give it a role in test/architecture.test.ts (tools go under tools/)',
  );
  for (const product of [...PRODUCT, 'load', 'tools', 'test'])
    assert.ok(folders.includes(product), `${product}/ is missing`);
});

it('When tools/ is listed, then each tool is a folder named like the npm script that runs it', async () => {
  const { scripts } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const tools = (await readdir(join(root, 'tools'), { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  for (const tool of tools) {
    if (SHARED_TOOL_LIBRARIES.includes(tool)) continue;
    const script = scripts[tool];
    assert.ok(script, `tools/${tool}/ has no npm script "${tool}"`);
    assert.match(script, new RegExp(`tools/${tool}/`), `npm run ${tool} does not run tools/${tool}/`);
  }
  const loose = (await readdir(join(root, 'tools'), { withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => e.name);
  assert.deepEqual(loose, [], 'every tool lives in a folder of its own');
});

it('When the imports are followed from every file, then no file imports itself through others (no cycle)', () => {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') return void cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
    state.set(file, 'open');
    for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
  assert.ok(graph.size > 100, `only ${graph.size} files found`);
  assert.ok(
    [...graph.keys()].some((f) => f.endsWith('.mjs')),
    'the .mjs files are read too',
  );
});

it('When every import is resolved, then it names a file that exists', async () => {
  const files = new Set(graph.keys());
  const missing = [...graph].flatMap(([file, targets]) =>
    targets.filter((t) => SOURCE.test(t) && !files.has(t) && !t.endsWith('.d.ts')).map((t) => `${file} → ${t}`),
  );
  assert.deepEqual(missing, []);
});

it('When the product is read, then it never imports a tool, a test or a load script', () => {
  assert.deepEqual(
    arrows(isProduct, (t) => !isProduct(t)),
    [],
  );
});

it('When common/ is read, then it imports only itself, and its Kafka runtime and telemetry know no restaurant', () => {
  assert.deepEqual(
    arrows(under('common'), (t) => !under('common')(t)),
    [],
  );
  assert.deepEqual(
    arrows((f) => under('common/kafka')(f) || under('common/telemetry')(f), under('common/restaurant')),
    [],
  );
});

it('When every service is followed from its entry points, then each file of common/ is used by a service', () => {
  const entries = [
    'gateway/server.ts',
    'gateway/instrument.ts',
    'workers/validation/main.ts',
    'workers/validation/instrument.ts',
    'workers/kitchen/main.ts',
    'workers/kitchen/instrument.ts',
  ];
  const reached = new Set<string>(['common/service/compile-cache.mjs']);
  const walk = (file: string) => {
    if (reached.has(file)) return;
    reached.add(file);
    for (const target of graph.get(file) ?? []) walk(target);
  };
  entries.forEach(walk);
  const unused = [...graph.keys()].filter((file) => under('common')(file) && !reached.has(file));
  assert.deepEqual(unused, [], 'code in common/ that no service uses belongs beside the tool that uses it');
});

it('When the tools are read, then the trace store does not import the bottleneck report, and no tool imports a test', () => {
  assert.deepEqual(arrows(under('tools/tracestore'), under('tools/bottlenecks')), []);
  assert.deepEqual(
    arrows((f) => !under('test')(f), under('test')),
    [],
  );
});
