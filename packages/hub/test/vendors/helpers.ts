// Vendor test helpers: a test hub with a fixed secrets key and its vendor adapters pointed at the
// local stand-in servers; the poller is driven by the tests (not started by listening).
import { randomBytes } from 'node:crypto';
import type { HubConfig } from '../../src/config.ts';
import type { Engine } from '../../src/storage/database.ts';
import { vendorsConfig } from '../../src/vendors/vendors.config.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';

export const SECRETS_KEY = randomBytes(32).toString('base64');

export function vendorTestConfig(
  urls: { selectLive?: string; enphase?: string },
  key = SECRETS_KEY,
): Partial<HubConfig> {
  const base = vendorsConfig({});
  return {
    secrets: { key, keyFile: undefined, generate: false },
    vendors: {
      ...base,
      poller: false,
      jitterMs: 0,
      hubId: `test-hub-${randomBytes(3).toString('hex')}`,
      // Slow at 3 s, not the production 5 s, to keep the slow-answer test short; not lower: on a
      // loaded 2-core machine PGlite (same event loop as the stand-in) delays answers by ~2 s.
      selectLive: { baseUrl: urls.selectLive ?? 'http://127.0.0.1:9', timeoutMs: 6_000, slowMs: 3_000 },
      enphase: {
        ...base.enphase,
        baseUrl: urls.enphase ?? 'http://127.0.0.1:9',
        apiKey: 'test-api-key',
        clientId: 'cid',
        clientSecret: 'csecret',
        redirectUri: 'http://127.0.0.1/cb',
      },
    },
  };
}

export async function startVendorHub(
  engine: Engine,
  urls: { selectLive?: string; enphase?: string },
  extra: Partial<HubConfig> = {},
): Promise<TestHub> {
  return startTestHub(engine, { ...vendorTestConfig(urls), ...extra });
}

/**
 * A pinned time `minute` minutes into the hour before the current one: in the past (ingest refuses
 * the future) and inside raw retention, and the minute of the hour is fixed whatever the time of
 * day the test runs at (the maintenance window is minutes 48–52).
 */
export function atMinute(minute: number): number {
  const hour = 3_600_000;
  return Math.floor(Date.now() / hour) * hour - 2 * hour + minute * 60_000;
}
