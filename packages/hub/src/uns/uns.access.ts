// What the embedded broker asks about UNS readers: does this username/password belong to a live
// credential, and which tree (`wattfleet/v1/{org slug}/`) may it read right now. Slugs and
// revocations are held in memory and refreshed when the service announces a change
// ('uns.changed'), so authorizeForward, which aedes calls synchronously for every delivery,
// needs no query and a revoked or re-slugged reader stops receiving at once.
import type { HubContext } from '../context.ts';
import { verifyMqttPassword } from '../nodes/credentials.ts';
import { allSlugs, credentialByUsername, getSettings } from './uns.repository.ts';
import { orgPrefix } from './uns.topics.ts';

export const READER_USERNAME_RE = /^uns-[0-9a-f]{12}$/;

export interface UnsReader {
  credentialId: string;
  orgId: string;
}

declare module '../context.ts' {
  interface HubEvents {
    /** An org's UNS settings or credentials changed (before: the settings as they were). */
    'uns.changed': {
      orgId: string;
      before?: { enabled: boolean; slug: string } | undefined;
      revokedCredentialId?: string;
    };
  }
}

export class UnsAccess {
  private readonly prefixes = new Map<string, string>();
  private readonly revoked = new Set<string>();
  private loaded: Promise<void> | undefined;
  private readonly off: () => void;

  constructor(private readonly hub: Pick<HubContext, 'db' | 'bus'>) {
    this.off = hub.bus.onEvent('uns.changed', (e) => {
      if (e.revokedCredentialId) this.revoked.add(e.revokedCredentialId);
      void this.refresh(e.orgId).catch(() => {});
    });
  }

  static isReaderUsername(username: string): boolean {
    return READER_USERNAME_RE.test(username);
  }

  /** A reader's client id is its username, or that with a `-suffix` (never another identity's). */
  static clientIdBelongsTo(username: string, clientId: string): boolean {
    return clientId === username || clientId.startsWith(`${username}-`);
  }

  async authenticate(username: string, password: string): Promise<UnsReader | undefined> {
    await this.load();
    const row = await credentialByUsername(this.hub.db, username);
    if (!row || !verifyMqttPassword(password, row.password_hash)) return undefined;
    this.revoked.delete(row.id);
    await this.refresh(row.org_id);
    return { credentialId: row.id, orgId: row.org_id };
  }

  /** The topic prefix the reader may read, undefined once revoked or without settings. */
  prefixOf(reader: UnsReader): string | undefined {
    if (this.revoked.has(reader.credentialId)) return undefined;
    return this.prefixes.get(reader.orgId);
  }

  /** A subscription filter inside the reader's own tree (no wildcard above its org level). */
  mayRead(reader: UnsReader, topicOrFilter: string): boolean {
    const prefix = this.prefixOf(reader);
    return !!prefix && topicOrFilter.startsWith(prefix);
  }

  private load(): Promise<void> {
    this.loaded ??= allSlugs(this.hub.db).then((rows) => {
      for (const r of rows) this.prefixes.set(r.org_id, orgPrefix(r.slug));
    });
    return this.loaded;
  }

  async refresh(orgId: string): Promise<void> {
    const s = await getSettings(this.hub.db, orgId);
    if (s) this.prefixes.set(orgId, orgPrefix(s.slug));
    else this.prefixes.delete(orgId);
  }

  close(): void {
    this.off();
  }
}
