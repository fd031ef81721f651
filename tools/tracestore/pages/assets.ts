import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

// The pages' styles and browser scripts are files of their own (browser/), type-checked and linted like the rest,
// and inlined into each page so that it stays one self-contained file.
const read = (name: string) => readFileSync(new URL(`browser/${name}`, import.meta.url), 'utf8');

/** A browser script and the hash the Content-Security-Policy names, so that it runs and nothing else does. */
interface PageScript {
  source: string;
  hash: string;
}

const script = (name: string): PageScript => {
  const source = read(name);
  return { source, hash: `sha256-${createHash('sha256').update(source).digest('base64')}` };
};

/** Every page's style. */
export const BASE_STYLE = read('base.css');
/** The trace list's style. */
export const LIST_STYLE = read('list.css');
/** The trace page's style. */
export const TRACE_STYLE = read('trace.css');
/** The trace page's script. */
export const TRACE_SCRIPT = script('trace.js');
/** The trace list's script (the duration scatter). */
export const LIST_SCRIPT = script('list.js');
/** The live monitor's script. */
export const MONITOR_SCRIPT = script('monitor.js');
/** Every page script, for the Content-Security-Policy. */
export const PAGE_SCRIPTS = [TRACE_SCRIPT, LIST_SCRIPT, MONITOR_SCRIPT];
