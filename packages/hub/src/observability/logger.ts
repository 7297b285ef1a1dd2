// Logs for people and machines. On a terminal (or LOG_FORMAT=pretty) lines go through pino-pretty,
// in-process (no worker thread, nothing lost on a crash); anywhere else (systemd, a container, a
// file) they stay one JSON object per line for a log shipper. Request lines are written by
// request-log.ts at debug, so `npm start` shows what matters and not every portal poll.
//
// Secrets never reach a line: bearer tokens, cookies and signatures are not serialised at all
// (the request serializer writes method, path and ids only), query strings are masked where they
// may carry a token (the realtime socket takes ?token=), and any field named like a secret is
// redacted wherever it appears in a logged object.
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import pretty from 'pino-pretty';
import type { HubConfig } from '../config.ts';
import { redactUrl } from '../http/log-redaction.ts';

/** Field names whose values are secrets wherever they appear (two levels deep is what pino redacts). */
const SECRET_KEYS = [
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'accessToken',
  'refreshToken',
  'adminToken',
  'metricsToken',
  'mqttPassword',
  'enrollmentCode',
  'authorization',
  'cookie',
  'secret',
  'jwtSecret',
];
const REDACT = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  'req.headers',
  'mqtt.password',
];

interface RawRequest {
  method?: string;
  url?: string;
  id?: string;
  ip?: string;
  routeOptions?: { url?: string };
}

export const serializers = {
  req: (req: RawRequest) => ({
    method: req.method,
    url: redactUrl(req.url ?? ''),
    ...(req.routeOptions?.url ? { route: req.routeOptions.url } : {}),
    ip: req.ip,
  }),
  res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
  err: pino.stdSerializers.err,
};

export function usePretty(format: HubConfig['logFormat'], isTTY = !!process.stdout.isTTY): boolean {
  return format === 'pretty' || (format === 'auto' && isTTY);
}

export function loggerOptions(config: Pick<HubConfig, 'logLevel' | 'hubId'>): LoggerOptions {
  return {
    level: config.logLevel,
    base: { hub: config.hubId },
    redact: { paths: REDACT, censor: '[redacted]' },
    serializers,
  };
}

/** The hub's logger: pretty on a terminal, JSON otherwise; `destination` is for tests. */
export function createHubLogger(
  config: Pick<HubConfig, 'logLevel' | 'hubId' | 'logFormat'>,
  destination?: DestinationStream,
): Logger {
  const opts = loggerOptions(config);
  if (usePretty(config.logFormat, destination ? false : undefined)) {
    return pino(
      opts,
      pretty({
        colorize: true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,hub',
        sync: true,
        ...(destination ? { destination } : {}),
      }),
    );
  }
  return destination ? pino(opts, destination) : pino(opts);
}
