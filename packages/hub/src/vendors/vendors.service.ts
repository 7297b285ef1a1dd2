// Vendor accounts as users see them: access checks (code first, row-level security again in the
// tenant transactions), test-connection before anything is saved, the vault for credentials, and
// the shape the API answers with. Routes stay thin; SQL is in vendors.repository.ts.
import { checker, WattfleetError } from '@wattfleet/protocol';
import { audit } from '../audit/audit.ts';
import { appSiteScope, assertSiteAccess } from '../auth/access.ts';
import { type Actor, actorId } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { withTenant } from '../identity/tenant.ts';
import type { Vault } from '../secrets/vault.ts';
import { type SystemInfo as AdapterSystemInfo, type VendorAdapter, VendorError } from './adapters/adapter.ts';
import {
  authorizeUrl,
  type EnphaseTokens,
  enphaseAdapter,
  exchangeCode,
  listSystems,
} from './adapters/enphase.ts';
import { vendorHttp } from './adapters/http.ts';
import { ADAPTERS } from './adapters/index.ts';
import { BREAKER_OPEN_MS, MINUTE_MS, nextSlot } from './poll-policy.ts';
import type { VendorsConfig } from './vendors.config.ts';
import {
  type AccountRow,
  deactivateNode,
  getAccount,
  insertAccount,
  insertEquipment,
  insertVirtualNode,
  lastOutcome,
  listAccounts,
  listLog,
  updateAccount,
  uptimeCounts,
} from './vendors.repository.ts';
import type {
  Account,
  ConnectionRequest,
  CreateAccountBody,
  EnphaseAuthorizeBody,
  EnphaseGrant,
  PatchAccountBody,
  SystemInfo,
} from './vendors.schema.ts';

const DAY_MS = 86_400_000;
const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);

export class VendorService {
  /** This hub's own poll schedule (the poller), exact for the accounts it holds. */
  nextDue: (accountId: string) => number | undefined = () => undefined;

  constructor(
    private readonly hub: HubContext,
    private readonly config: VendorsConfig,
    private readonly vault: () => Vault | undefined,
  ) {}

  private requireVault(): Vault {
    const v = this.vault();
    if (!v) {
      throw new WattfleetError(
        'WF_UNAVAILABLE',
        'Vendor accounts need the secrets key: set WATTFLEET_SECRETS_KEY or WATTFLEET_SECRETS_KEY_FILE',
      );
    }
    return v;
  }

  private adapter(vendor: string): VendorAdapter {
    const a = ADAPTERS.get(vendor as never);
    if (!a) throw new WattfleetError('WF_VALIDATION', `Unknown vendor "${vendor}"`);
    return a;
  }

  listVendors() {
    return [...ADAPTERS.values()].map((a) => ({ vendor: a.vendor, label: a.label }));
  }

  /** Logs in with the given credentials and describes the system; stores nothing. */
  async testConnection(actor: Actor, siteId: string, req: ConnectionRequest): Promise<SystemInfo> {
    await assertSiteAccess(this.hub, actor, siteId, 'write');
    const adapter = this.adapter(req.vendor);
    const given = await this.resolveCredentials(adapter, siteId, req.credentials);
    const { info, credentials } = await this.connect(adapter, req.externalId, given.credentials);
    // A grant's tokens may have been refreshed while testing (the old refresh token is dead now).
    if (given.grantId && credentials !== given.credentials)
      await this.requireVault().replace(this.hub.db, given.grantId, credentials);
    return info;
  }

  /**
   * Enphase: the owner approved the application and came back with a code. It is exchanged once,
   * the tokens are sealed in the vault as a grant bound to this site, and the systems the grant
   * may read are listed (the owner picks one to add; the grant id is the account's credentials).
   */
  async enphaseAuthorize(actor: Actor, siteId: string, body: EnphaseAuthorizeBody): Promise<EnphaseGrant> {
    await assertSiteAccess(this.hub, actor, siteId, 'write');
    const vault = this.requireVault();
    const redirectUri = body.redirectUri ?? this.config.enphase.redirectUri;
    if (!redirectUri) {
      throw new WattfleetError(
        'WF_VALIDATION',
        'redirectUri is required (the hub has no ENPHASE_REDIRECT_URI)',
        [{ path: '/body/redirectUri', message: 'required' }],
      );
    }
    const policy = enphaseAdapter.policy(this.config);
    const http = vendorHttp({ timeoutMs: policy.timeoutMs });
    const now = Date.now();
    try {
      let tokens: EnphaseTokens = await exchangeCode(this.config, http, body.code, redirectUri, now);
      tokens = { ...tokens, pendingSiteId: siteId };
      const grant = await vault.put(this.hub.db, tokens);
      const ctx = {
        config: this.config,
        http,
        credentials: tokens,
        saveCredentials: (next: EnphaseTokens) => vault.replace(this.hub.db, grant, next),
        session: new Map(),
        now,
      };
      return { grant, systems: await listSystems(ctx) };
    } catch (err) {
      throw this.connectionError(err);
    }
  }

  enphaseAuthorizeUrl(redirectUri: string | undefined): { url: string; redirectUri: string } {
    const uri = redirectUri ?? this.config.enphase.redirectUri;
    if (!uri) {
      throw new WattfleetError(
        'WF_VALIDATION',
        'redirectUri is required (the hub has no ENPHASE_REDIRECT_URI)',
        [{ path: '/querystring/redirectUri', message: 'required' }],
      );
    }
    try {
      return { url: authorizeUrl(this.config, uri), redirectUri: uri };
    } catch (err) {
      throw this.connectionError(err);
    }
  }

  /**
   * What the adapter needs from what the owner entered. For an OAuth vendor that is a grant id:
   * the sealed tokens it names, only for the site it was made for and only until it is used.
   */
  private async resolveCredentials(
    adapter: VendorAdapter,
    siteId: string,
    entered: unknown,
  ): Promise<{ credentials: Record<string, unknown>; grantId?: string }> {
    if (adapter.vendor !== 'enphase') return { credentials: entered as Record<string, unknown> };
    const grantId = (entered as { grant: string }).grant;
    const refused = () =>
      new WattfleetError('WF_VALIDATION', 'Unknown or already used Enphase grant: authorise again', [
        { path: '/body/credentials/grant', message: 'unknown or used' },
      ]);
    let tokens: EnphaseTokens;
    try {
      tokens = await this.requireVault().get<EnphaseTokens>(this.hub.db, grantId);
    } catch (err) {
      if (err instanceof WattfleetError) throw err;
      throw refused();
    }
    if (tokens.pendingSiteId !== siteId) throw refused();
    return { credentials: tokens as unknown as Record<string, unknown>, grantId };
  }

  private async connect(
    adapter: VendorAdapter,
    externalId: string,
    credentials: Record<string, unknown>,
  ): Promise<{ info: AdapterSystemInfo; credentials: Record<string, unknown> }> {
    const policy = adapter.policy(this.config);
    let latest = credentials;
    try {
      const info = await adapter.connect(
        {
          config: this.config,
          http: vendorHttp({ timeoutMs: policy.timeoutMs }),
          credentials,
          // Tokens refreshed while connecting are kept: they are what gets sealed.
          saveCredentials: async (next) => {
            latest = next;
          },
          session: new Map(),
          now: Date.now(),
        },
        externalId,
      );
      return { info, credentials: latest };
    } catch (err) {
      throw this.connectionError(err);
    }
  }

  private connectionError(err: unknown): unknown {
    if (!(err instanceof VendorError)) return err;
    if (err.kind === 'credentials' || err.kind === 'reauthorise' || err.kind === 'protocol') {
      return new WattfleetError('WF_VALIDATION', `Connection test failed: ${err.message}`, [
        { path: '/body/credentials', message: err.message },
      ]);
    }
    return new WattfleetError('WF_UNAVAILABLE', `Connection test failed: ${err.message}`);
  }

  async create(actor: Actor, siteId: string, body: CreateAccountBody, sourceIp: string): Promise<Account> {
    await assertSiteAccess(this.hub, actor, siteId, 'write');
    const vault = this.requireVault();
    const adapter = this.adapter(body.vendor);
    // Test connection before saving: an account that cannot log in is never stored.
    const given = await this.resolveCredentials(adapter, siteId, body.credentials);
    const { info, credentials } = await this.connect(adapter, body.externalId, given.credentials);
    let secretId: string;
    if (given.grantId) {
      // The grant becomes the account's secret: no longer pending, so it cannot be used twice.
      const { pendingSiteId: _, ...tokens } = credentials as unknown as EnphaseTokens;
      await vault.replace(this.hub.db, given.grantId, tokens);
      secretId = given.grantId;
    } else {
      secretId = await vault.put(this.hub.db, credentials);
    }
    let row: AccountRow;
    try {
      row = await withTenant(
        this.hub,
        actor,
        async (trx) => {
          const name = body.name ?? info.name ?? `${adapter.label} ${body.externalId}`;
          const nodeId = await insertVirtualNode(trx, siteId, name);
          await insertEquipment(trx, nodeId, {
            vendor: adapter.label,
            model: info.model ?? null,
            serial: info.serial ?? null,
          });
          return insertAccount(trx, {
            siteId,
            nodeId,
            vendor: body.vendor,
            name,
            externalId: body.externalId,
            secretId,
            settings: { ...adapter.defaultSettings, ...('settings' in body ? body.settings : {}) },
            systemInfo: { ...info },
            createdBy: actorId(actor),
          });
        },
        'write',
      );
    } catch (err) {
      await vault.remove(this.hub.db, secretId);
      if ((err as { code?: string }).code === '23505') {
        throw new WattfleetError('WF_CONFLICT', 'This vendor system is already connected to the site');
      }
      throw err;
    }
    await audit(this.hub.db, actor, {
      action: 'vendor_account.create',
      targetType: 'vendor_account',
      targetId: row.id,
      sourceIp,
      details: { siteId, vendor: body.vendor, externalId: body.externalId },
    });
    return this.view(row);
  }

  async listForSite(actor: Actor, siteId: string): Promise<Account[]> {
    await assertSiteAccess(this.hub, actor, siteId);
    const rows = await withTenant(this.hub, actor, (trx) => listAccounts(trx, { siteId }));
    return Promise.all(rows.map((r) => this.view(r)));
  }

  /** Fleet-wide for admins; everyone else sees the accounts of the sites they may see. */
  async listAll(actor: Actor): Promise<Account[]> {
    const scope = await appSiteScope(this.hub, actor);
    const rows = await withTenant(this.hub, actor, (trx) => listAccounts(trx, { siteIds: scope }));
    return Promise.all(rows.map((r) => this.view(r)));
  }

  /** The account if the actor may see (or, for 'write', change) it; 404 otherwise, like sites. */
  private async visible(actor: Actor, id: string, mode: 'read' | 'write' = 'read'): Promise<AccountRow> {
    const sys = await getAccount(this.hub.db, id);
    if (!sys || sys.status === 'removed')
      throw new WattfleetError('WF_NOT_FOUND', 'Vendor account not found');
    await assertSiteAccess(this.hub, actor, sys.site_id, mode);
    const row = await withTenant(this.hub, actor, (trx) => getAccount(trx, id), mode);
    if (!row) throw new WattfleetError('WF_NOT_FOUND', 'Vendor account not found');
    return row;
  }

  async get(actor: Actor, id: string): Promise<Account> {
    return this.view(await this.visible(actor, id));
  }

  async log(actor: Actor, id: string, limit: number) {
    await this.visible(actor, id);
    const rows = await withTenant(this.hub, actor, (trx) => listLog(trx, id, limit));
    return rows.map((r) => ({
      at: new Date(r.at).toISOString(),
      outcome: r.outcome,
      httpStatus: r.http_status,
      error: r.error,
      responseMs: r.response_ms,
    }));
  }

  async patch(actor: Actor, id: string, body: PatchAccountBody, sourceIp: string): Promise<Account> {
    const row = await this.visible(actor, id, 'write');
    const flags = {
      ...(body.siteTopic !== undefined ? { siteTopic: body.siteTopic } : {}),
      ...(body.paused !== undefined ? { paused: body.paused } : {}),
    };
    const settingsChange = body.settings || Object.keys(flags).length > 0;
    const pausing = body.paused === true && row.settings.paused !== true;
    const resuming = body.paused === false && row.settings.paused === true;
    const updated = await withTenant(
      this.hub,
      actor,
      (trx) =>
        updateAccount(trx, id, {
          ...(body.name ? { name: body.name } : {}),
          ...(settingsChange ? { settings: { ...row.settings, ...body.settings, ...flags } } : {}),
          // Paused: the lease is handed back at once, so no hub goes on polling it until its
          // next claim. Resumed: free for the next claim (any hub), which polls it at once.
          ...(pausing || resuming ? { lease_owner: null, lease_until: null } : {}),
        }),
      'write',
    );
    if (!updated) throw new WattfleetError('WF_NOT_FOUND', 'Vendor account not found');
    await audit(this.hub.db, actor, {
      action: pausing ? 'vendor_account.pause' : resuming ? 'vendor_account.resume' : 'vendor_account.update',
      targetType: 'vendor_account',
      targetId: id,
      sourceIp,
      details: {
        settings: body.settings ?? null,
        siteTopic: body.siteTopic ?? null,
        paused: body.paused ?? null,
      },
    });
    if (pausing || resuming) {
      this.hub.bus.emitEvent('node.status', {
        nodeId: row.node_id,
        siteId: row.site_id,
        status: pausing ? 'paused' : 'online',
        reason: pausing ? 'vendor_paused' : 'vendor_resumed',
      });
    }
    return this.view(updated);
  }

  /** New credentials: tested first, then sealed over the old ones; the account polls again. */
  async rotateCredentials(
    actor: Actor,
    id: string,
    credentials: Record<string, string>,
    sourceIp: string,
  ): Promise<Account> {
    const row = await this.visible(actor, id, 'write');
    const vault = this.requireVault();
    const adapter = this.adapter(row.vendor);
    const check = checker(adapter.credentials);
    if (!check.check(credentials)) {
      throw new WattfleetError(
        'WF_VALIDATION',
        'The credentials do not fit this vendor',
        check.problems(credentials, '/body/credentials'),
      );
    }
    const given = await this.resolveCredentials(adapter, row.site_id, credentials);
    const { info, credentials: latest } = await this.connect(adapter, row.external_id, given.credentials);
    const { pendingSiteId: _, ...sealed } = latest as Record<string, unknown> & { pendingSiteId?: string };
    await vault.replace(this.hub.db, row.secret_id, sealed);
    // A grant used to re-authorise is spent: its tokens now live under the account's secret.
    if (given.grantId) await vault.remove(this.hub.db, given.grantId);
    const updated = await withTenant(
      this.hub,
      actor,
      (trx) =>
        updateAccount(trx, id, {
          status: 'active',
          status_message: null,
          system_info: { ...row.system_info, ...info },
          consecutive_failures: 0,
          breaker: 'closed',
          breaker_opened_at: null,
          failing_since: null,
        }),
      'write',
    );
    await audit(this.hub.db, actor, {
      action: 'vendor_account.rotate_credentials',
      targetType: 'vendor_account',
      targetId: id,
      sourceIp,
    });
    this.hub.bus.emitEvent('node.status', {
      nodeId: row.node_id,
      siteId: row.site_id,
      status: 'online',
      reason: 'vendor_credentials_rotated',
    });
    return this.view(updated ?? row);
  }

  /** Removes the account and its credentials; its virtual node is deactivated and its data stays. */
  async remove(actor: Actor, id: string, sourceIp: string): Promise<void> {
    const row = await this.visible(actor, id, 'write');
    await withTenant(
      this.hub,
      actor,
      async (trx) => {
        await updateAccount(trx, id, {
          status: 'removed',
          removed_at: new Date(),
          lease_owner: null,
          lease_until: null,
        });
        await deactivateNode(trx, row.node_id);
      },
      'write',
    );
    // Credentials of a removed account have no use left: the sealed row is overwritten with a
    // tombstone (the removed account still references it, so it is not deleted).
    const vault = this.vault();
    if (vault) await vault.replace(this.hub.db, row.secret_id, { removed: true });
    await audit(this.hub.db, actor, {
      action: 'vendor_account.remove',
      targetType: 'vendor_account',
      targetId: id,
      sourceIp,
    });
    this.hub.bus.emitEvent('node.status', {
      nodeId: row.node_id,
      siteId: row.site_id,
      status: 'removed',
      reason: 'vendor_account_removed',
    });
  }

  /**
   * The next poll: exact when this hub polls the account; otherwise what the poller would do —
   * at once for a new account, after the open breaker's wait, or the account's next slot in the
   * minute after its last poll (a failing account may wait longer: its backoff is the holder's).
   */
  private nextPollAt(r: AccountRow, now: number): number {
    const exact = this.nextDue(r.id);
    if (exact !== undefined) return exact;
    if (r.breaker === 'open' && r.breaker_opened_at)
      return new Date(r.breaker_opened_at).getTime() + BREAKER_OPEN_MS;
    if (!r.last_poll_at) return now;
    const min = ADAPTERS.get(r.vendor as never)?.policy(this.config).minIntervalMs ?? MINUTE_MS;
    return nextSlot(r.id, new Date(r.last_poll_at).getTime(), min / 2, 0);
  }

  private async view(r: AccountRow): Promise<Account> {
    const now = Date.now();
    const pct = (c: { ok: number; failed: number }) =>
      c.ok + c.failed === 0 ? null : Math.round((1000 * c.ok) / (c.ok + c.failed)) / 10;
    const [day, week, outcome] = await Promise.all([
      uptimeCounts(this.hub.db, r.id, new Date(now - DAY_MS)),
      uptimeCounts(this.hub.db, r.id, new Date(now - 7 * DAY_MS)),
      lastOutcome(this.hub.db, r.id),
    ]);
    const rejected = r.status === 'credentials_rejected' || r.status === 'reauthorise';
    const paused = r.settings.paused === true;
    const info = r.system_info as SystemInfo;
    return {
      id: r.id,
      siteId: r.site_id,
      nodeId: r.node_id,
      vendor: r.vendor as Account['vendor'],
      name: r.name,
      externalId: r.external_id,
      status: r.status === 'removed' ? 'active' : r.status,
      statusMessage: r.status_message,
      settings: r.settings,
      systemInfo: { ...info, externalId: info.externalId ?? r.external_id },
      health: rejected ? 'rejected' : r.failing_since ? 'failing' : r.last_success_at ? 'ok' : 'new',
      breaker: r.breaker,
      consecutiveFailures: r.consecutive_failures,
      paused,
      lastPollAt: iso(r.last_poll_at),
      nextPollAt: paused || rejected ? null : new Date(this.nextPollAt(r, now)).toISOString(),
      lastOutcome: outcome ?? null,
      lastSuccessAt: iso(r.last_success_at),
      failingSince: iso(r.failing_since),
      lastError: r.last_error,
      notices: Object.entries(r.notices).map(([name, n]) => ({
        name,
        ...(n as { message: string; since: number }),
      })),
      uptime: { dayPct: pct(day), weekPct: pct(week) },
      createdAt: new Date(r.created_at).toISOString(),
    };
  }
}
