import Type from 'typebox';
import { Compile } from 'typebox/compile';

// An ExportTraceServiceRequest in OTLP/JSON, as far as the store reads it: what it needs is required, unknown
// fields are allowed (the OTLP spec says receivers ignore them), and every field the proto3 JSON mapping may omit
// at its default may be missing.
const hex = (bytes: number) => Type.String({ pattern: `^[0-9a-fA-F]{${bytes * 2}}$` });
const unixNanos = Type.Union([
  Type.String({ pattern: '^[0-9]{1,20}$' }),
  Type.Integer({ minimum: 0, maximum: 2 ** 64 }),
]);
const int64 = Type.Union([
  Type.String({ pattern: '^-?[0-9]{1,19}$' }),
  Type.Integer({ minimum: -(2 ** 63), maximum: 2 ** 63 }),
]);
const list = <T extends Parameters<typeof Type.Array>[0]>(item: T) => Type.Optional(Type.Array(item));
const attributes = list(Type.Ref('KeyValue'));

const TraceExport = Type.Cyclic(
  {
    AnyValue: Type.Object({
      stringValue: Type.Optional(Type.String()),
      boolValue: Type.Optional(Type.Boolean()),
      intValue: Type.Optional(int64),
      doubleValue: Type.Optional(Type.Union([Type.Number(), Type.Enum(['NaN', 'Infinity', '-Infinity'])])),
      arrayValue: Type.Optional(Type.Object({ values: list(Type.Ref('AnyValue')) })),
      kvlistValue: Type.Optional(Type.Object({ values: attributes })),
      bytesValue: Type.Optional(Type.String()),
    }),
    KeyValue: Type.Object({ key: Type.String(), value: Type.Optional(Type.Ref('AnyValue')) }),
    Span: Type.Object({
      traceId: hex(16),
      spanId: hex(8),
      parentSpanId: Type.Optional(Type.Union([Type.Literal(''), hex(8)])),
      name: Type.Optional(Type.String()),
      kind: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 })),
      startTimeUnixNano: Type.Optional(unixNanos),
      endTimeUnixNano: Type.Optional(unixNanos),
      attributes,
      events: list(
        Type.Object({ name: Type.Optional(Type.String()), timeUnixNano: Type.Optional(unixNanos), attributes }),
      ),
      links: list(Type.Object({ traceId: hex(16), spanId: hex(8), attributes })),
      status: Type.Optional(
        Type.Object({
          code: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 })),
          message: Type.Optional(Type.String()),
        }),
      ),
    }),
    ExportTraceServiceRequest: Type.Object({
      resourceSpans: Type.Array(
        Type.Object({
          resource: Type.Optional(Type.Object({ attributes })),
          scopeSpans: list(Type.Object({ spans: list(Type.Ref('Span')) })),
        }),
      ),
    }),
  },
  'ExportTraceServiceRequest',
);

const validator = Compile(TraceExport);

/** Throws an Error naming the first problem when `value` is not an OTLP/JSON ExportTraceServiceRequest the store can keep. */
export function checkTraceExport(value: unknown): void {
  if (validator.Check(value)) return;
  const [first] = validator.Errors(value);
  throw new Error(
    `not an OTLP trace export: ${first ? `${first.instancePath || '/'} ${first.message}` : 'unexpected shape'}`,
  );
}
