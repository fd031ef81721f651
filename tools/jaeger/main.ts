import { parseArgs } from 'node:util';
import { buildJaeger, startJaeger, JAEGER_VERSION } from './build.ts';

// `npm run jaeger [-- --build-only]`: a real Jaeger v2 without Docker, built once with Go, on Jaeger's ports with
// memory storage. Its UI is a placeholder page: the UI's assets are not part of the Go module.
const { values } = parseArgs({ options: { 'build-only': { type: 'boolean', default: false } } });
const log = (line: string) => console.error(`[jaeger] ${line}`);

try {
  if (values['build-only']) {
    log(`Jaeger ${JAEGER_VERSION} ready: ${await buildJaeger({ log })}`);
  } else {
    const jaeger = await startJaeger({
      otlpPort: 4318,
      queryPort: 16686,
      queryGrpcPort: 16685,
      healthPort: 13133,
      log,
      inheritOutput: true,
    });
    log(
      `Jaeger ${JAEGER_VERSION} (pid ${jaeger.pid}): OTLP/HTTP ${jaeger.otlpUrl}, query API ${jaeger.queryUrl}/api/v3/services, health ${jaeger.healthUrl}; Ctrl-C stops it`,
    );
    for (const signal of ['SIGINT', 'SIGTERM'] as const)
      process.once(signal, () => void jaeger.stop().then(() => process.exit(0)));
  }
} catch (error) {
  log((error as Error).message);
  process.exit(1);
}
