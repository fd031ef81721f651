import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { it } from 'node:test';

// The plan of the code, checked on the code itself: which folder may import which, and no import cycles.
const root = resolve(import.meta.dirname, '..');
const SOURCE_FOLDERS = ['common', 'gateway', 'workers', 'kafka', 'jaeger', 'tracestore', 'traces', 'report', 'load', 'bench', 'start', 'dlq', 'openapi', 'test'];

async function sourceFiles(folder: string): Promise<string[]> {
  const entries = await readdir(join(root, folder), { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')).map((e) => relative(root, join(e.parentPath, e.name)));
}

/** Every project file each file imports (relative imports only; packages are not part of the plan). */
async function importGraph(): Promise<Map<string, string[]>> {
  const files = (await Promise.all(SOURCE_FOLDERS.map(sourceFiles))).flat();
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = await readFile(join(root, file), 'utf8');
    const targets = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'|^\s*import\s+'(\.[^']+)'/gm)].map((m) =>
      relative(root, resolve(root, dirname(file), (m[1] ?? m[2])!)),
    );
    graph.set(file, targets);
  }
  return graph;
}

const graph = await importGraph();
const under = (folder: string) => (file: string) => file.startsWith(`${folder}/`);

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
});

it('When common/ is read, then it imports only itself, and its Kafka runtime and telemetry know no restaurant', () => {
  const outside = [...graph].flatMap(([file, targets]) => (under('common')(file) ? targets.filter((t) => !under('common')(t)).map((t) => `${file} → ${t}`) : []));
  assert.deepEqual(outside, []);
  const domain = [...graph].flatMap(([file, targets]) =>
    under('common/kafka')(file) || under('common/telemetry')(file) ? targets.filter(under('common/restaurant')).map((t) => `${file} → ${t}`) : [],
  );
  assert.deepEqual(domain, []);
});

it('When every service is followed from its entry points, then each file of common/ is used by a service', () => {
  const entries = ['gateway/server.ts', 'gateway/instrument.ts', 'workers/validation/main.ts', 'workers/validation/instrument.ts', 'workers/kitchen/main.ts', 'workers/kitchen/instrument.ts'];
  const reached = new Set<string>();
  const walk = (file: string) => {
    if (reached.has(file)) return;
    reached.add(file);
    for (const target of graph.get(file) ?? []) walk(target);
  };
  entries.forEach(walk);
  const unused = [...graph.keys()].filter((file) => under('common')(file) && !reached.has(file));
  assert.deepEqual(unused, [], 'code in common/ that no service uses belongs beside the tool that uses it');
});

it('When the services are read, then none imports a tool (tools may import the services, never the reverse)', () => {
  const services = ['gateway', 'workers', 'common'];
  const tools = ['tracestore', 'traces', 'report', 'load', 'bench', 'start', 'dlq', 'jaeger', 'test'];
  const wrong = [...graph].flatMap(([file, targets]) =>
    services.some((s) => under(s)(file)) ? targets.filter((t) => tools.some((tool) => under(tool)(t))).map((t) => `${file} → ${t}`) : [],
  );
  assert.deepEqual(wrong, []);
});
