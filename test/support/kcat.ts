import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Whether Debian's kcat (an independent Kafka client) is installed; `.ci/run` installs it. */
export async function hasKcat(): Promise<boolean> {
  return run('kcat', ['-V']).then(
    () => true,
    () => false,
  );
}

/** Every message of a topic as kcat sees it: key and the raw header text (`name=value,…`). */
export async function readTopicWithKcat(
  brokers: string,
  topic: string,
): Promise<Array<{ key: string; headers: string; value: string }>> {
  const { stdout } = await run(
    'kcat',
    ['-C', '-b', brokers, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k\\t%h\\t%s\\n'],
    {
      timeout: 20_000,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [key = '', headers = '', value = ''] = line.split('\t');
      return { key, headers, value };
    });
}
