import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// Which test files are quick: a file is quick unless it, or a project file it imports (at any depth), imports
// node:child_process or a browser driver — that is how every broker, service, tool and browser is started. Quick files
// run in one process (test/support/quick-guard.ts refuses a child process there, so a misplaced test fails loudly).

const root = resolve(import.meta.dirname, '..', '..');
const HEAVY = /^(node:)?child_process$|^playwright-core$/;
const IMPORTS = /(?:^\s*(?:import|export)\b[^'"]*?from\s+|^\s*import\s+|\bimport\(\s*)['"]([^'"]+)['"]/gm;

const heavyCache = new Map<string, boolean>();

/** Whether `file` (absolute) starts processes or a browser, itself or through what it imports. */
function isHeavy(file: string, seen = new Set<string>()): boolean {
  const cached = heavyCache.get(file);
  if (cached !== undefined) return cached;
  if (seen.has(file)) return false;
  seen.add(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  let heavy = false;
  for (const [, specifier] of text.matchAll(IMPORTS)) {
    if (HEAVY.test(specifier!)) heavy = true;
    else if (specifier!.startsWith('.')) heavy = isHeavy(resolve(dirname(file), specifier!), seen);
    if (heavy) break;
  }
  heavyCache.set(file, heavy);
  return heavy;
}

/** Every test file `npm test` runs, relative to the project root. */
export function testFiles(): string[] {
  return readdirSync(join(root, 'test'), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => join('test', name))
    .sort();
}

/** The test files split into the quick tier (in one process, no child process) and the rest. */
export function testTiers(files = testFiles()): { quick: string[]; slow: string[] } {
  const quick: string[] = [];
  const slow: string[] = [];
  for (const file of files) (isHeavy(join(root, file)) ? slow : quick).push(relative(root, join(root, file)));
  return { quick, slow };
}
