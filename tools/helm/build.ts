import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';

/** The Helm release built (from helm.sh/helm/v4 on the Go module proxy), pinned with its dependencies in kube-check/go.mod. */
const HELM_VERSION = 'v4.3.2';

const root = join(import.meta.dirname, '..', '..');
const moduleDir = join(import.meta.dirname, 'kube-check');
const cacheDir = join(root, '.cache', 'helm', HELM_VERSION);
export const chartDir = join(root, 'deploy', 'helm', 'ituna');
/** The values files CI renders the chart with: the defaults, and Kafka over TLS with SASL plus KEDA. */
const VALUES_FILES = [undefined, join(chartDir, 'ci', 'tls-sasl-values.yaml')];

export interface HelmTools {
  /** The helm binary. */
  helm: string;
  /** Reads manifests on stdin and checks each against Kubernetes' API types (kube-check/main.go). */
  kubeCheck: string;
}

function go(args: string[], log: (line: string) => void): void {
  const run = spawnSync('go', args, { cwd: moduleDir, encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
  if (run.error) {
    throw new Error(
      'Building Helm needs Go ("go" was not found on PATH): install Go 1.26 or newer from https://go.dev/dl/ or your package manager.',
    );
  }
  if (run.status !== 0)
    throw new Error(`go ${args.join(' ')} failed (exit ${run.status}):\n${run.stderr.slice(-3000)}`);
  if (run.stderr.trim()) log(run.stderr.trim().split('\n').slice(-1)[0]!);
}

/** Builds helm and kube-check into .cache/helm/ once (a few minutes of CPU the first time). */
export async function buildHelm({ log = (line: string) => console.error(line) } = {}): Promise<HelmTools> {
  const tools = { helm: join(cacheDir, 'helm'), kubeCheck: join(cacheDir, 'kube-check') };
  if (existsSync(tools.helm) && existsSync(tools.kubeCheck)) return tools;
  const started = performance.now();
  log(`building Helm ${HELM_VERSION} and kube-check with Go (first time only; a few minutes)…`);
  // Helm's own build stamps its version this way; without it `helm version` says only "v4.3".
  const stamp = `-X helm.sh/helm/v4/internal/version.version=${HELM_VERSION}`;
  go(['build', '-ldflags', stamp, '-o', `${tools.helm}.partial`, 'helm.sh/helm/v4/cmd/helm'], log);
  go(['build', '-o', `${tools.kubeCheck}.partial`, '.'], log);
  await rename(`${tools.helm}.partial`, tools.helm);
  await rename(`${tools.kubeCheck}.partial`, tools.kubeCheck);
  log(`Helm ${HELM_VERSION} built in ${Math.round((performance.now() - started) / 1000)} s: ${tools.helm}`);
  return tools;
}

function run(command: string, args: string[], input?: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8', input, maxBuffer: 16 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`${command.split('/').pop()} ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`.trim());
  }
  return result.stdout;
}

/** `helm lint --strict`, `helm template` and kube-check for every values file CI uses; returns what each printed. */
export function checkChart(tools: HelmTools, valuesFiles = VALUES_FILES): string[] {
  const lines: string[] = [];
  for (const values of valuesFiles) {
    const withValues = values ? ['-f', values] : [];
    const name = values ? values.slice(chartDir.length + 1) : 'default values';
    run(tools.helm, ['lint', '--strict', chartDir, ...withValues]);
    const manifests = run(tools.helm, ['template', 'ituna', chartDir, ...withValues]);
    const checked = run(tools.kubeCheck, [], manifests).trim().split('\n');
    lines.push(
      `${name}: helm lint --strict passed; ${checked.length} objects valid (${checked.map((l) => l.split(' ').slice(1).join(' ')).join(', ')})`,
    );
  }
  return lines;
}

/** Renders the chart (helm template) with extra `--set` values; throws with Helm's message when it refuses. */
export function renderChart(tools: HelmTools, args: string[] = []): string {
  return run(tools.helm, ['template', 'ituna', chartDir, ...args]);
}
