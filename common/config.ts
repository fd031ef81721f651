/** Turns one environment variable's raw value into a typed value, or throws an Error saying what is allowed. */
export type Parser<T> = (raw: string | undefined) => T;

/** The values a schema of parsers gives, by variable name. */
export type Config<S extends Record<string, Parser<unknown>>> = { [K in keyof S]: ReturnType<S[K]> };

/** Every bad variable found while loading a configuration, named with what each allows. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Reads every variable of `schema` from `env`, converting and defaulting; throws one ConfigError listing all bad ones. */
export function loadConfig<S extends Record<string, Parser<unknown>>>(
  schema: S,
  env: Record<string, string | undefined>,
): Config<S> {
  const result: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, parse] of Object.entries(schema)) {
    const raw = env[name];
    try {
      result[name] = parse(raw === '' ? undefined : raw);
    } catch (error) {
      problems.push(`${name} ${(error as Error).message} (got ${JSON.stringify(raw)})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return result as Config<S>;
}

/**
 * Reads `schema` as `loadConfig` does, except that a bad value is not fatal: `warn` hears it once, naming the variable,
 * and the default is used — what the OpenTelemetry specification asks of OTEL_* variables.
 */
export function loadConfigLeniently<S extends Record<string, Parser<unknown>>>(
  schema: S,
  env: Record<string, string | undefined>,
  warn: (problem: string) => void,
): Config<S> {
  const result: Record<string, unknown> = {};
  for (const [name, parse] of Object.entries(schema)) {
    try {
      result[name] = loadConfig({ [name]: parse }, env)[name];
    } catch (error) {
      warn(`${(error as ConfigError).problems[0]}; using the default`);
      result[name] = parse(undefined);
    }
  }
  return result as Config<S>;
}

/** Runs `load`; on a ConfigError prints its message and ends the process, so a bad variable never starts a service. */
export function configOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
}

/** A free-form string, `fallback` when unset. */
export function text(fallback: string): Parser<string>;
export function text(): Parser<string | undefined>;
export function text(fallback?: string): Parser<string | undefined> {
  return (raw) => raw ?? fallback;
}

/** A whole number within [min, max], `fallback` when unset. */
export function integer(fallback: number, min: number, max: number): Parser<number> {
  return (raw) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
      throw new Error(`must be a whole number from ${min} to ${max}`);
    }
    return value;
  };
}

/** A number within [min, max], `fallback` when unset (undefined fallback keeps it optional). */
export function decimal(fallback: number | undefined, min: number, max: number): Parser<number | undefined> {
  return (raw) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
      throw new Error(`must be a number from ${min} to ${max}`);
    }
    return value;
  };
}

/** One of a fixed list of words, `fallback` when unset. */
export function oneOf<const T extends string>(allowed: readonly T[], fallback: T): Parser<T> {
  return (raw) => {
    if (raw === undefined) return fallback;
    const value = raw.trim().toLowerCase();
    if (!(allowed as readonly string[]).includes(value)) throw new Error(`must be one of ${allowed.join(', ')}`);
    return value as T;
  };
}

/** `true` or `false` (any case), `fallback` when unset. */
export function flag(fallback: boolean): Parser<boolean> {
  const words = oneOf(['true', 'false'], fallback ? 'true' : 'false');
  return (raw) => words(raw) === 'true';
}

/** An absolute http(s) URL without a trailing slash, `fallback` when unset. */
export function httpUrl(fallback: string): Parser<string>;
export function httpUrl(): Parser<string | undefined>;
export function httpUrl(fallback?: string): Parser<string | undefined> {
  return (raw) => {
    const value = raw ?? fallback;
    if (value === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new Error('must be an absolute http:// or https:// URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error('must be an absolute http:// or https:// URL');
    return value.replace(/\/+$/, '');
  };
}

/** A comma-separated list of host:port pairs, undefined when unset. */
export function hostPortList(): Parser<string[] | undefined> {
  return (raw) => {
    if (raw === undefined) return undefined;
    const entries = raw.split(',').map((entry) => entry.trim());
    const valid = /^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/;
    if (entries.some((entry) => !valid.test(entry))) throw new Error('must be a comma-separated list of host:port');
    return entries;
  };
}

/** A duration such as `90s`, `30m`, `2h` or `7d`, in milliseconds within [min, max]; `fallback` when unset. */
export function duration(fallback: string, minMs: number, maxMs: number): Parser<number> {
  const units = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  return (raw) => {
    const match = /^(\d+)(s|m|h|d)$/.exec((raw ?? fallback).trim());
    const ms = match ? Number(match[1]) * units[match[2] as keyof typeof units] : NaN;
    if (!(ms >= minMs && ms <= maxMs))
      throw new Error(
        `must be a duration like 90s, 30m, 2h or 7d, from ${minMs / 1000} s to ${maxMs / 86_400_000} days`,
      );
    return ms;
  };
}
