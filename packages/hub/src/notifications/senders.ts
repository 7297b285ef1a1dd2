// Delivery of one outbox message: generic JSON webhook, Slack-compatible webhook, SMTP email.
// Webhook and Slack targets go through the network guard (net-guard.ts): never to the hub's own
// network unless NOTIFY_ALLOW_HOSTS says so, checked again at every delivery and redirect.
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { guardedPost, parseAllowList } from './net-guard.ts';

export interface NotificationSettings {
  /** nodemailer SMTP options or URL; email channels fail (and retry) without it. */
  smtp: SMTPTransport.Options | string | undefined;
  from: string;
  /** First retry after this; doubles each attempt, capped at maxBackoffMs. */
  backoffBaseMs: number;
  maxBackoffMs: number;
  maxAttempts: number;
  timeoutMs: number;
  /** Internal hosts, addresses or CIDR ranges webhooks may reach after all (NOTIFY_ALLOW_HOSTS). */
  allowHosts: string[];
}

export function defaultNotificationSettings(env: NodeJS.ProcessEnv = process.env): NotificationSettings {
  return {
    smtp: env.SMTP_URL || undefined,
    from: env.SMTP_FROM ?? 'Wattfleet <alerts@wattfleet.local>',
    backoffBaseMs: 30_000,
    maxBackoffMs: 3_600_000,
    maxAttempts: 10,
    timeoutMs: 10_000,
    allowHosts: allowHostsFromEnv(env),
  };
}

/** NOTIFY_ALLOW_HOSTS, checked as it is read (a bad CIDR range is an error, not a silent no). */
export function allowHostsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const hosts = (env.NOTIFY_ALLOW_HOSTS ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  parseAllowList(hosts);
  return hosts;
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

async function post(url: string, body: unknown, settings: NotificationSettings): Promise<void> {
  const status = await guardedPost(url, JSON.stringify(body), {
    allow: parseAllowList(settings.allowHosts),
    timeoutMs: settings.timeoutMs,
    headers: { 'user-agent': 'wattfleet-hub' },
  });
  if (status < 200 || status >= 300) throw new Error(`HTTP ${status}`);
}

const transports = new Map<string, nodemailer.Transporter>();

export async function send(
  kind: 'webhook' | 'slack' | 'email',
  target: string,
  payload: OutboxPayload,
  settings: NotificationSettings,
): Promise<void> {
  if (kind === 'webhook') return post(target, payload, settings);
  if (kind === 'slack') {
    return post(target, { text: `${subjectOf(payload)}\n${payload.alert.message}` }, settings);
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
