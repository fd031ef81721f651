/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) that a self-time summary needs. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }>;
  samples: number[];
  timeDeltas: number[];
  /** When the profile began, in microseconds of the monotonic clock (`process.hrtime.bigint()` / 1000 in any process). */
  startTime?: number;
}

/** A stretch of a profile, in microseconds of the monotonic clock. */
export interface ProfileWindow {
  fromUs: number;
  toUs: number;
}

export interface Share {
  name: string;
  ms: number;
  percent: number;
}

/**
 * Where a code location belongs: the npm package for node_modules (scoped names kept), `node:` internals,
 * the project's own folder (gateway, common, …), or V8's pseudo-frames such as `(garbage collector)`.
 */
export function ownerOf(url: string, functionName: string, projectRoot: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg?.[1]) return pkg[1];
  if (url.startsWith('node:')) return 'node: internals';
  const path = url.replace(/^file:\/\//, '');
  if (path.startsWith(projectRoot))
    return `project: ${path.slice(projectRoot.length).replace(/^\//, '').split('/')[0]}/`;
  return path;
}

/**
 * Self time per owner and per function: each sample's time (its delta) goes to the frame on top of the stack,
 * so the shares add up to the whole profile, idle included.
 */
export function summarizeProfile(
  profile: CpuProfile,
  projectRoot: string,
  top = 15,
): { totalMs: number; busyMs: number; byOwner: Share[]; byFunction: Share[] } {
  const { owners, functions, totalUs } = selfTime(profile, projectRoot);
  const idleUs = owners.get('(idle)') ?? 0;
  const rank = (map: Map<string, number>): Share[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, percent: totalUs > 0 ? (us / totalUs) * 100 : 0 }));
  return {
    totalMs: totalUs / 1000,
    busyMs: (totalUs - idleUs) / 1000,
    byOwner: rank(owners),
    byFunction: rank(functions),
  };
}

/**
 * Self time in microseconds per owner and per function, of the whole profile or of the samples taken within
 * `window` (a sample is taken at the profile's start plus the deltas so far).
 */
export function selfTime(
  profile: CpuProfile,
  projectRoot: string,
  window?: ProfileWindow,
): { owners: Map<string, number>; functions: Map<string, number>; totalUs: number } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const owners = new Map<string, number>();
  const functions = new Map<string, number>();
  let totalUs = 0;
  let at = profile.startTime ?? 0;
  profile.samples.forEach((id, i) => {
    const us = Math.max(0, profile.timeDeltas[i] ?? 0);
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    totalUs += us;
    const owner = ownerOf(frame.url, frame.functionName, projectRoot);
    owners.set(owner, (owners.get(owner) ?? 0) + us);
    const where = frame.url
      ? `${frame.url.replace(/^.*node_modules\//, '').replace(`file://${projectRoot}/`, '')}:${frame.lineNumber + 1}`
      : '';
    const fn = `${frame.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  });
  return { owners, functions, totalUs };
}
