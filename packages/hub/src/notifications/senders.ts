// Delivery of one outbox message: generic JSON webhook, Slack-compatible webhook, SMTP email.
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';

export interface NotificationSettings {
  /** nodemailer SMTP options or URL; email channels fail (and retry) without it. */
  smtp: SMTPTransport.Options | string | undefined;
  from: string;
  /** First retry after this; doubles each attempt, capped at maxBackoffMs. */
  backoffBaseMs: number;
  maxBackoffMs: number;
  maxAttempts: number;
  timeoutMs: number;
}

export function defaultNotificationSettings(env: NodeJS.ProcessEnv = process.env): NotificationSettings {
  return {
    smtp: env.SMTP_URL || undefined,
    from: env.SMTP_FROM ?? 'Wattfleet <alerts@wattfleet.local>',
    backoffBaseMs: 30_000,
    maxBackoffMs: 3_600_000,
    maxAttempts: 10,
    timeoutMs: 10_000,
  };
}

export interface OutboxPayload {
  event: string;
  alert: {
    id: string;
    rule: string;
    severity: string;
    state: string;
    message: string;
    siteName: string | null;
    siteId: string;
    [k: string]: unknown;
  };
  at: string;
}

export function subjectOf(p: OutboxPayload): string {
  const verb = p.event === 'resolved' ? 'Resolved' : p.event === 'repeat' ? 'Still open' : 'Alert';
  return `[${p.alert.severity.toUpperCase()}] ${verb}: ${p.alert.rule} at ${p.alert.siteName ?? p.alert.siteId}`;
}

async function post(url: string, body: unknown, timeoutMs: number): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'wattfleet-hub' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  // Drain the body so the socket is released whatever the answer.
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}

const transports = new Map<string, nodemailer.Transporter>();

export async function send(
  kind: 'webhook' | 'slack' | 'email',
  target: string,
  payload: OutboxPayload,
  settings: NotificationSettings,
): Promise<void> {
  if (kind === 'webhook') return post(target, payload, settings.timeoutMs);
  if (kind === 'slack') {
    return post(target, { text: `${subjectOf(payload)}\n${payload.alert.message}` }, settings.timeoutMs);
  }
  if (!settings.smtp) throw new Error('No SMTP server configured');
  const key = typeof settings.smtp === 'string' ? settings.smtp : JSON.stringify(settings.smtp);
  let transport = transports.get(key);
  if (!transport) {
    transport = nodemailer.createTransport(settings.smtp as SMTPTransport.Options);
    transports.set(key, transport);
  }
  await transport.sendMail({
    from: settings.from,
    to: target,
    subject: subjectOf(payload),
    text: [
      payload.alert.message,
      '',
      `Site: ${payload.alert.siteName ?? payload.alert.siteId}`,
      `Rule: ${payload.alert.rule}`,
      `Severity: ${payload.alert.severity}`,
      `State: ${payload.alert.state}`,
      `At: ${payload.at}`,
      `Alert id: ${payload.alert.id}`,
    ].join('\n'),
  });
}
