import { styleText } from 'node:util';

type Style = Parameters<typeof styleText>[0];

const LEVELS: Record<number, { name: string; style: Style }> = {
  10: { name: 'TRACE', style: 'gray' },
  20: { name: 'DEBUG', style: 'gray' },
  30: { name: 'INFO ', style: 'green' },
  40: { name: 'WARN ', style: 'yellow' },
  50: { name: 'ERROR', style: 'red' },
  60: { name: 'FATAL', style: ['bgRed', 'white'] },
};

// Fields every line has, or that the line already shows; the rest follow the message as key=value.
const SHOWN = new Set(['level', 'time', 'service', 'msg', 'pid', 'hostname', 'trace_flags']);

function valueText(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

/**
 * One pino JSON line as a terminal line: time, level, service, message, then the other fields; an error's stack on
 * the lines below. A line that is not pino's JSON comes back as it is.
 */
export function prettyLine(line: string, color = true): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null || typeof entry.level !== 'number') return line;
  const paint = (style: Style, text: string) => (color ? styleText(style, text, { validateStream: false }) : text);
  const level = LEVELS[entry.level] ?? { name: String(entry.level), style: 'white' as Style };
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const err = entry.err as { type?: string; message?: string; stack?: string } | undefined;
  const fields = Object.entries(entry)
    .filter(([key]) => !SHOWN.has(key) && key !== 'err')
    .map(([key, value]) => `${paint('gray', `${key}=`)}${valueText(value)}`);
  if (err) fields.push(`${paint('gray', 'err=')}${err.type ?? 'Error'}: ${err.message ?? ''}`);
  const head = `${paint('gray', time)} ${paint(level.style, level.name)} ${paint('cyan', String(entry.service ?? ''))} ${entry.msg ?? ''}`;
  const stack = err?.stack && entry.level >= 50 ? `\n${paint('gray', err.stack)}` : '';
  return `${head}${fields.length ? `  ${fields.join(' ')}` : ''}${stack}`;
}
