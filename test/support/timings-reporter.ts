// A node:test reporter that writes each test file's time (the sum of its top-level tests) as JSON lines, so that the
// next run of test/run.ts can start the longest files first.
export default async function* timings(source: AsyncIterable<{ type: string; data: Record<string, unknown> }>) {
  const perFile = new Map<string, number>();
  for await (const event of source) {
    if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.nesting === 0) {
      const file = String(event.data.file ?? '');
      const details = event.data.details as { duration_ms?: number } | undefined;
      perFile.set(file, (perFile.get(file) ?? 0) + (details?.duration_ms ?? 0));
    }
  }
  for (const [file, ms] of perFile) yield `${JSON.stringify({ file, ms: Math.round(ms) })}\n`;
}
