import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { it } from 'node:test';

// The README teaches by linking the lines that do the work: a link that no longer points at them misleads.
const root = join(import.meta.dirname, '..');
const documents = ['README.md', 'BENCHMARKS.md', ...readdirSync(join(root, 'docs')).map((f) => `docs/${f}`)].filter(
  (f) => f.endsWith('.md'),
);
const LINK = /\[([^\]]+)\]\(([^)\s]+)\)/g;

function linksOf(document: string): { text: string; target: string }[] {
  const text = readFileSync(join(root, document), 'utf8').replace(/```[\s\S]*?```/g, '');
  return [...text.matchAll(LINK)]
    .map(([, label, target]) => ({ text: label!, target: target! }))
    .filter(({ target }) => !/^[a-z]+:/.test(target) && !target.startsWith('#'));
}

it('When a document links a file of the repository, then the file exists, and a line range holds what the link names', () => {
  let checked = 0;
  for (const document of documents) {
    for (const { text, target } of linksOf(document)) {
      const [path, anchor] = target.split('#');
      const file = join(dirname(join(root, document)), path!);
      assert.ok(existsSync(file), `${document}: [${text}](${target}) points at a missing ${relative(root, file)}`);
      const range = /^L(\d+)(?:-L(\d+))?$/.exec(anchor ?? '');
      if (range) {
        const lines = readFileSync(file, 'utf8').split('\n');
        const [from, to] = [Number(range[1]), Number(range[2] ?? range[1])];
        assert.ok(to <= lines.length, `${document}: ${target} is past the end of the file (${lines.length} lines)`);
        // A link labelled with a name (`startTelemetry`) must land on the lines that define or use it.
        const name = /^`([\w.]+)`$/.exec(text)?.[1]?.replace(/\.ts$/, '');
        if (name) {
          assert.ok(
            lines.slice(from - 1, to).some((line) => line.includes(name)),
            `${document}: ${target} no longer shows ${name}`,
          );
        }
      }
      checked++;
    }
  }
  assert.ok(checked > 20, `only ${checked} links found`);
});

it('When the README is read, then it stays short and walks through the pattern in four places', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  assert.ok(readme.split('\n').length <= 200, 'README.md is at most 200 lines; the rest belongs in docs/');
  const pattern = readme.split('## The pattern in four places')[1]!.split('\n## ')[0]!;
  assert.equal(pattern.match(/^\d\. \*\*/gm)?.length, 4);
  assert.ok((pattern.match(/#L\d+/g)?.length ?? 0) >= 5, 'each place links its lines');
});
