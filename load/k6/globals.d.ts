// k6 provides console at run time; its type package does not declare it.
declare const console: { log(...args: unknown[]): void };
