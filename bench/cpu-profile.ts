/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) that a self-time summary needs. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }>;
  samples: number[];
  timeDeltas: number[];
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
  if (path.startsWith(projectRoot)) return `project: ${path.slice(projectRoot.length).replace(/^\//, '').split('/')[0]}/`;
  return path;
}

/**
 * Self time per owner and per function: each sample's time (its delta) goes to the frame on top of the stack,
 * so the shares add up to the whole profile, idle included.
 */
export function summarizeProfile(profile: CpuProfile, projectRoot: string, top = 15): { totalMs: number; busyMs: number; byOwner: Share[]; byFunction: Share[] } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const owners = new Map<string, number>();
  const functions = new Map<string, number>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const us = Math.max(0, profile.timeDeltas[i] ?? 0);
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    totalUs += us;
    const owner = ownerOf(frame.url, frame.functionName, projectRoot);
    owners.set(owner, (owners.get(owner) ?? 0) + us);
    const where = frame.url ? `${frame.url.replace(/^.*node_modules\//, '').replace(`file://${projectRoot}/`, '')}:${frame.lineNumber + 1}` : '';
    const fn = `${frame.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  });
  const idleUs = owners.get('(idle)') ?? 0;
  const rank = (map: Map<string, number>): Share[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, percent: totalUs > 0 ? (us / totalUs) * 100 : 0 }));
  return { totalMs: totalUs / 1000, busyMs: (totalUs - idleUs) / 1000, byOwner: rank(owners), byFunction: rank(functions) };
}
