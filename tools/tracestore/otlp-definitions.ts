import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The official OTLP definitions: the `.proto` files opentelemetry-proto publishes, in its Maven Central artifact. */
const ARTIFACT = 'io.opentelemetry.proto:opentelemetry-proto:1.11.0-alpha';

const cacheRoot = new URL('../../.cache/otlp-proto', import.meta.url).pathname;

/**
 * The folder holding the OTLP `.proto` files, unpacked once from Maven Central into .cache/ (as the Kafka jars are):
 * no npm package ships them, and the project keeps no copy of another project's files.
 */
export async function ensureOtlpDefinitions(log: (line: string) => void = () => {}): Promise<string> {
  const dir = join(cacheRoot, ARTIFACT.split(':').at(-1)!);
  if (existsSync(join(dir, 'complete'))) return dir;
  log(`fetching the OTLP definitions (${ARTIFACT}) with Maven (first use only)…`);
  await mkdir(cacheRoot, { recursive: true });
  const staging = await mkdtemp(join(cacheRoot, 'download-'));
  try {
    await promisify(execFile)(
      'mvn',
      [
        '-B',
        '-q',
        'dependency:unpack',
        `-Dartifact=${ARTIFACT}`,
        `-DoutputDirectory=${staging}`,
        '-Dmdep.unpack.includes=**/*.proto',
      ],
      {
        // Without a pom Maven writes its unpack markers under a literal `${project.basedir}` of the working directory.
        cwd: cacheRoot,
        maxBuffer: 16 * 1024 * 1024,
      },
    ).catch((error: NodeJS.ErrnoException & { stdout?: string; stderr?: string }) => {
      const why =
        error.code === 'ENOENT'
          ? 'Maven is not installed (e.g. apt-get install maven)'
          : `${error.stdout ?? ''}${error.stderr ?? ''}`.slice(-2000);
      throw new Error(
        `the trace store reads OTLP protobuf with the official definitions, fetched once from Maven Central: ${why}`,
      );
    });
    await writeFile(join(staging, 'complete'), `${ARTIFACT}\n`);
    // Atomic: a concurrent start sees either no definitions or all of them; the loser of the race keeps the winner's.
    await rename(staging, dir).catch((error) => {
      if (!existsSync(join(dir, 'complete'))) throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return dir;
}
