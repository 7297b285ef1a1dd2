// Wire schemas of the operations endpoints (/healthz, /readyz, /metrics) for their responses and
// the OpenAPI document. The readiness checks' detail fields are listed one by one, so a detail
// added in readiness.ts reaches load balancers only once it is documented here.
import Type from 'typebox';

const EngineName = Type.Union([Type.Literal('pglite'), Type.Literal('postgres')]);

export const Health = Type.Object(
  {
    ok: Type.Literal(true),
    hub: Type.String({ description: 'HUB_ID of the answering hub' }),
    engine: EngineName,
    readReplica: Type.Boolean({
      description:
        'DATABASE_READ_URL is set: dashboard and telemetry reads go to a replica (its lag: wattfleet_db_replica_lag_seconds)',
    }),
    uptimeS: Type.Integer({ minimum: 0 }),
  },
  { description: 'The process is alive (liveness; says nothing about the database or broker)' },
);

const Check = Type.Object({
  ok: Type.Boolean(),
  error: Type.Optional(Type.String({ description: 'What failed, in words an operator can act on' })),
  // database
  engine: Type.Optional(EngineName),
  ms: Type.Optional(Type.Number({ description: 'How long the database took to answer' })),
  pending: Type.Optional(Type.Array(Type.String(), { description: 'Migrations not applied yet' })),
  // broker
  url: Type.Optional(Type.String({ description: 'The MQTT broker this hub is connected to' })),
  // jobs
  running: Type.Optional(Type.Array(Type.String(), { description: 'Jobs running now on this hub' })),
  stalled: Type.Optional(
    Type.Array(Type.Object({ job: Type.String(), runningS: Type.Integer() }), {
      description: 'Jobs running for longer than JOB_STALL_S',
    }),
  ),
});

export const Readiness = Type.Object(
  {
    ok: Type.Boolean(),
    failing: Type.Array(Type.Union([Type.Literal('database'), Type.Literal('broker'), Type.Literal('jobs')])),
    checks: Type.Object({ database: Check, broker: Check, jobs: Check }),
  },
  { description: 'Whether this hub should get traffic; 503 names the failing checks' },
);

/** Response entry for a text body of one media type (OpenAPI `content`, Fastify serialises it as is). */
export const textResponse = (mediaType: string, description: string) => ({
  description,
  content: { [mediaType]: { schema: Type.String() } },
});
