import { BASE_STYLE } from './assets.ts';
import { escapeHtml } from '../../traces/html.ts';

/** Colours for services, in the order a page meets them; picked to stay apart for the usual three or four. */
const PALETTE = ['#3b6ea5', '#5a9e5a', '#8e5ea2', '#c4553a', '#2a9d9d', '#a67c00', '#d45d9c', '#6b7280'];

/** Gives each service of a page its own colour. */
export function serviceColours(services: Iterable<string>): Map<string, string> {
  const colours = new Map<string, string>();
  for (const service of services)
    if (!colours.has(service)) colours.set(service, PALETTE[colours.size % PALETTE.length]!);
  return colours;
}

/** JSON to place inside a <script type="application/json">: nothing in it can close the element or start markup. */
export const scriptJson = (value: unknown) =>
  JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Milliseconds for people: "412.3 ms", "2.90 s". */
export const duration = (ms: number) =>
  ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`;

/** A wall-clock time in UTC with milliseconds. */
export const clock = (ms: number) =>
  Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC') : '—';

/** One self-contained page: inline style and script, nothing fetched from anywhere. */
export function htmlPage(
  title: string,
  body: string,
  { style = '', script = '' }: { style?: string; script?: string } = {},
): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${BASE_STYLE}${style}</style></head>
<body>${body}${script ? `<script>${script}</script>` : ''}</body></html>
`;
}
