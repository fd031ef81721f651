// Jaeger's query service is written in Go and parses its parameters with Go's standard library; the store parses
// them the same way, so it accepts and rejects the same strings with the same messages.

/** A value Go parsed, or the text of the error Go would have returned. */
export type GoParsed<T> = { ok: true; value: T } | { ok: false; error: string };

const ok = <T>(value: T): GoParsed<T> => ({ ok: true, value });
const fail = (error: string): GoParsed<never> => ({ ok: false, error });

/** A string quoted as the time package quotes it in errors: non-ASCII and control bytes as \xNN. */
function goTimeQuote(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code >= 0x80 || code < 0x20) {
      for (const byte of Buffer.from(char)) out += `\\x${byte.toString(16).padStart(2, '0')}`;
    } else {
      if (char === '"' || char === '\\') out += '\\';
      out += char;
    }
  }
  return `${out}"`;
}

/** A string quoted as strconv.Quote does (printable Unicode kept). */
function goQuote(text: string): string {
  const named: Record<string, string> = {
    '\x07': '\\a',
    '\b': '\\b',
    '\f': '\\f',
    '\n': '\\n',
    '\r': '\\r',
    '\t': '\\t',
    '\v': '\\v',
    '"': '\\"',
    '\\': '\\\\',
  };
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (named[char]) out += named[char];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (/\p{Cc}|\p{Cf}|\p{Zl}|\p{Zp}|\p{Cs}|\p{Cn}/u.test(char) || (/\p{Zs}/u.test(char) && char !== ' ')) {
      out += code > 0xffff ? `\\U${code.toString(16).padStart(8, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    } else out += char;
  }
  return `${out}"`;
}

const MAX_INT64 = (1n << 63n) - 1n;

/** strconv.Atoi, for 64-bit ints. */
export function goAtoi(text: string): GoParsed<number> {
  const error = (why: string) => fail(`strconv.Atoi: parsing ${goQuote(text)}: ${why}`);
  const match = /^([+-]?)([0-9]+)$/.exec(text);
  if (!match) return error('invalid syntax');
  const value = BigInt(match[2]!) * (match[1] === '-' ? -1n : 1n);
  if (value > MAX_INT64 || value < -MAX_INT64 - 1n) return error('value out of range');
  return ok(Number(value));
}

/** strconv.ParseBool. */
export function goParseBool(text: string): GoParsed<boolean> {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return ok(true);
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return ok(false);
  return fail(`strconv.ParseBool: parsing ${goQuote(text)}: invalid syntax`);
}

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  µs: 1000n,
  μs: 1000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const LIMIT = 1n << 63n;

/** time.ParseDuration, in nanoseconds: "150ms", "1.5s", "2m", "1h30m". */
export function goParseDuration(text: string): GoParsed<bigint> {
  const invalid = (why = 'invalid duration') => fail(`time: ${why} ${goTimeQuote(text)}`);
  let rest = text;
  let negative = false;
  if (rest[0] === '-' || rest[0] === '+') {
    negative = rest[0] === '-';
    rest = rest.slice(1);
  }
  if (rest === '0') return ok(0n);
  if (rest === '') return invalid();
  let total = 0n;
  while (rest !== '') {
    if (!/^[.0-9]/.test(rest)) return invalid();
    const whole = /^[0-9]*/.exec(rest)![0];
    let value = 0n;
    for (const digit of whole) {
      if (value > LIMIT / 10n) return invalid();
      value = value * 10n + BigInt(digit);
      if (value > LIMIT) return invalid();
    }
    rest = rest.slice(whole.length);
    let fraction = 0n;
    let scale = 1;
    let fractionDigits = '';
    if (rest[0] === '.') {
      fractionDigits = /^[0-9]*/.exec(rest.slice(1))![0];
      rest = rest.slice(1 + fractionDigits.length);
      let overflow = false;
      for (const digit of fractionDigits) {
        if (overflow) continue;
        if (fraction > MAX_INT64 / 10n) {
          overflow = true;
          continue;
        }
        const next = fraction * 10n + BigInt(digit);
        if (next > LIMIT) {
          overflow = true;
          continue;
        }
        fraction = next;
        scale *= 10;
      }
    }
    if (whole === '' && fractionDigits === '') return invalid();
    const unitText = /^[^.0-9]*/.exec(rest)![0];
    if (unitText === '') return invalid('missing unit in duration');
    rest = rest.slice(unitText.length);
    const unit = UNITS[unitText];
    if (unit === undefined) return invalid(`unknown unit ${goTimeQuote(unitText)} in duration`);
    if (value > LIMIT / unit) return invalid();
    value *= unit;
    // Go adds the fraction through a float64, rounding as it does.
    if (fraction > 0n) value += BigInt(Math.trunc(Number(fraction) * (Number(unit) / scale)));
    if (value > LIMIT) return invalid();
    total += value;
    if (total > LIMIT) return invalid();
  }
  if (negative) return ok(-total);
  if (total > MAX_INT64) return invalid();
  return ok(total);
}

function fraction(value: bigint, precision: number): [string, bigint] {
  let digits = '';
  let printing = false;
  for (let i = 0; i < precision; i++) {
    const digit = value % 10n;
    printing ||= digit !== 0n;
    if (printing) digits = digit.toString() + digits;
    value /= 10n;
  }
  return [printing ? `.${digits}` : '', value];
}

/** time.Duration.String: "-34.5ms", "1.5s", "1m30s", "2h0m0s". */
export function goFormatDuration(nanos: bigint): string {
  if (nanos === 0n) return '0s';
  const negative = nanos < 0n;
  let u = negative ? -nanos : nanos;
  let text: string;
  if (u < 1_000_000_000n) {
    const [precision, unit] = u < 1000n ? [0, 'ns'] : u < 1_000_000n ? [3, 'µs'] : [6, 'ms'];
    const [frac, whole] = fraction(u, precision);
    text = `${whole}${frac}${unit}`;
  } else {
    const [frac, seconds] = fraction(u, 9);
    u = seconds;
    text = `${u % 60n}${frac}s`;
    u /= 60n;
    if (u > 0n) {
      text = `${u % 60n}m${text}`;
      u /= 60n;
      if (u > 0n) text = `${u}h${text}`;
    }
  }
  return negative ? `-${text}` : text;
}

const RFC3339_NANO = '2006-01-02T15:04:05.999999999Z07:00';
const isDigit = (text: string, i: number) => i < text.length && text[i]! >= '0' && text[i]! <= '9';
const daysIn = (month: number, year: number) =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;

/** time.Parse(time.RFC3339Nano, text), in unix nanoseconds. */
export function goParseTime(text: string): GoParsed<bigint> {
  const cannot = (valueElem: string, layoutElem: string) =>
    fail(
      `parsing time ${goTimeQuote(text)} as ${goTimeQuote(RFC3339_NANO)}: cannot parse ${goTimeQuote(valueElem)} as ${goTimeQuote(layoutElem)}`,
    );
  const outOfRange = (what: string) => fail(`parsing time ${goTimeQuote(text)}: ${what} out of range`);
  let value = text;
  // getnum: one or two digits, exactly two when `fixed`.
  const number = (fixed: boolean): number | undefined => {
    if (!isDigit(value, 0)) return undefined;
    if (!isDigit(value, 1)) {
      if (fixed) return undefined;
      const n = Number(value[0]);
      value = value.slice(1);
      return n;
    }
    const n = Number(value.slice(0, 2));
    value = value.slice(2);
    return n;
  };
  const literal = (prefix: string) => {
    if (!value.startsWith(prefix)) return false;
    value = value.slice(prefix.length);
    return true;
  };

  if (value.length < 4 || !isDigit(value, 0) || !/^[0-9]{4}$/.test(value.slice(0, 4))) return cannot(value, '2006');
  const year = Number(value.slice(0, 4));
  value = value.slice(4);
  const fields: Array<[string, string, boolean, string, (n: number) => boolean]> = [
    ['-', '01', true, 'month', (n) => n >= 1 && n <= 12],
    ['-', '02', true, '', () => true],
    ['T', '15', false, 'hour', (n) => n < 24],
    [':', '04', true, 'minute', (n) => n < 60],
    [':', '05', true, 'second', (n) => n < 60],
  ];
  const parsed: number[] = [];
  for (const [prefix, layoutElem, fixed, name, inRange] of fields) {
    if (!literal(prefix)) return cannot(value, prefix);
    const hold = value;
    const n = number(fixed);
    if (n === undefined) return cannot(hold, layoutElem);
    if (!inRange(n)) return outOfRange(name);
    parsed.push(n);
  }
  const [month, day, hour, minute, second] = parsed as [number, number, number, number, number];
  let nanos = 0n;
  if (value.length >= 2 && (value[0] === '.' || value[0] === ',') && isDigit(value, 1)) {
    const digits = /^[0-9]*/.exec(value.slice(1))![0];
    nanos = BigInt(digits.slice(0, 9).padEnd(9, '0'));
    value = value.slice(1 + digits.length);
  }
  let offsetSeconds = 0;
  if (value[0] === 'Z') value = value.slice(1);
  else {
    const hold = value;
    if (
      value.length < 6 ||
      value[3] !== ':' ||
      !/^[0-9]{2}$/.test(value.slice(1, 3)) ||
      !/^[0-9]{2}$/.test(value.slice(4, 6)) ||
      (value[0] !== '+' && value[0] !== '-')
    ) {
      return cannot(hold, 'Z07:00');
    }
    const hours = Number(value.slice(1, 3));
    const minutes = Number(value.slice(4, 6));
    if (hours > 24) return outOfRange('time zone offset hour');
    if (minutes > 60) return outOfRange('time zone offset minute');
    offsetSeconds = (value[0] === '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
    value = value.slice(6);
  }
  if (value !== '') return fail(`parsing time ${goTimeQuote(text)}: extra text: ${goTimeQuote(value)}`);
  if (day < 1 || day > daysIn(month, year)) return fail(`parsing time ${goTimeQuote(text)}: day out of range`);
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years 0–99 as 1900–1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const seconds = BigInt(date.getTime() / 1000) - BigInt(offsetSeconds);
  return ok(seconds * 1_000_000_000n + nanos);
}

/** model.TraceIDFromString: up to 32 hex digits, as lowercase 32-digit hex. */
export function goTraceIdFromString(text: string): GoParsed<string> {
  if (text.length > 32) return fail(`TraceID cannot be longer than 32 hex characters: ${text}`);
  const parseUint = (part: string): GoParsed<bigint> => {
    if (/^[0-9a-fA-F]+$/.test(part)) return ok(BigInt(`0x${part}`));
    return fail(`strconv.ParseUint: parsing ${goQuote(part)}: invalid syntax`);
  };
  let high = 0n;
  let low: GoParsed<bigint>;
  if (text.length > 16) {
    const parsed = parseUint(text.slice(0, text.length - 16));
    if (!parsed.ok) return parsed;
    high = parsed.value;
    low = parseUint(text.slice(text.length - 16));
  } else low = parseUint(text);
  if (!low.ok) return low;
  return ok(high.toString(16).padStart(16, '0') + low.value.toString(16).padStart(16, '0'));
}
