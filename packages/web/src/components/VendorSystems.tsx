// A site's vendor systems (virtual nodes fed by a vendor cloud): health, uptime, last poll and
// live values, each with its connection log; those who may change the site rotate credentials,
// remove a system (its data stays) and add new ones. Health changes arrive over realtime.
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { type EnphaseGrant, type VendorAccount, vendorsApi } from '../api/vendors.ts';
import { dateTime, metricName, metricValue, relativeTime } from '../lib/format.ts';
import { useAsync } from '../lib/use-async.ts';
import { useLiveValues } from '../lib/use-live.ts';
import { httpWords, lastPollWords, nextPollWords, outcomeWords } from '../lib/vendor-words.ts';
import { realtime } from '../realtime/client.ts';
import { EnphaseAuthorise } from './EnphaseAuthorise.tsx';
import { ErrorNote } from './ErrorNote.tsx';
import { CredentialInputs, VendorConnectForm } from './VendorConnectForm.tsx';

export const VENDOR_LABEL: Record<string, string> = {
  select_live: 'select.live',
  enphase: 'Enphase',
  blueprint: 'Blueprint',
};

const HEALTH: Record<VendorAccount['health'], { label: string; state: string }> = {
  ok: { label: 'Connected', state: 'healthy' },
  failing: { label: 'Failing', state: 'alerting' },
  rejected: { label: 'Credentials rejected', state: 'failed' },
  new: { label: 'Waiting for first poll', state: 'pending' },
};

export function VendorHealth({ account }: { account: VendorAccount }) {
  const h = HEALTH[account.health];
  return (
    <span
      className={`badge state state-${h.state}`}
      data-testid="vendor-health"
      data-state={account.health}
      title={account.statusMessage ?? account.lastError ?? undefined}
    >
      {h.label}
    </span>
  );
}

export const pct = (v: number | null) => (v === null ? '–' : `${v} %`);

function ConnectionLog({ accountId, refreshKey }: { accountId: string; refreshKey: number }) {
  const log = useAsync(() => vendorsApi.log(accountId), [accountId, refreshKey]);
  if (log.error) return <ErrorNote error={log.error} />;
  if (!log.data) return <p className="muted">Loading…</p>;
  if (log.data.length === 0) return <p className="muted">No poll yet.</p>;
  return (
    <table className="values" data-testid="vendor-log">
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">What happened</th>
          <th scope="col">Vendor answer</th>
          <th scope="col">Took</th>
        </tr>
      </thead>
      <tbody>
        {log.data.map((e) => (
          // The technical detail (the vendor's own words, codes) is a tooltip, not the text.
          <tr
            key={`${e.at}|${e.outcome}|${e.httpStatus}|${e.responseMs}`}
            data-outcome={e.outcome}
            title={e.error ?? undefined}
          >
            <td>{dateTime(e.at)}</td>
            <td>{outcomeWords(e.outcome)}</td>
            <td>{httpWords(e.httpStatus)}</td>
            <td>{e.responseMs === null ? '–' : `${(e.responseMs / 1000).toFixed(1)} s`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RotateForm({ account, onDone }: { account: VendorAccount; onDone: () => void }) {
  const [values, setValues] = useState<Record<string, string>>({});
  const [grant, setGrant] = useState<EnphaseGrant>();
  const [error, setError] = useState<Error>();
  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    setError(undefined);
    try {
      await vendorsApi.rotate(
        account.id,
        account.vendor === 'enphase' ? { grant: grant?.grant ?? '' } : values,
      );
      onDone();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <form onSubmit={submit} aria-label={`New credentials for ${account.name}`}>
      {account.vendor === 'enphase' && !grant && (
        <EnphaseAuthorise siteId={account.siteId} onGrant={setGrant} />
      )}
      <CredentialInputs vendor={account.vendor} values={values} onChange={setValues} />
      <button type="submit" disabled={account.vendor === 'enphase' && !grant}>
        Test and save new credentials
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

function VendorCard({
  account,
  values,
  canManage,
  refreshKey,
  onChanged,
}: {
  account: VendorAccount;
  values: { metric: string; equipment: string; value: number; ts: string }[];
  canManage: boolean;
  refreshKey: number;
  onChanged: () => void;
}) {
  const [open, setOpen] = useState<'log' | 'rotate' | 'remove' | null>(null);
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const toggle = (what: typeof open) => setOpen((o) => (o === what ? null : what));
  const act = async (what: () => Promise<unknown>) => {
    setError(undefined);
    setBusy(true);
    try {
      await what();
      onChanged();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const remove = () => act(() => vendorsApi.remove(account.id));
  const failed = !account.paused && (account.statusMessage || account.lastError);
  return (
    <article className="node" data-testid="vendor-account" data-vendor-account={account.id}>
      <header>
        <strong>{account.name}</strong> <VendorHealth account={account} />
        {account.paused && (
          <span className="badge state state-pending" data-testid="vendor-paused">
            Paused
          </span>
        )}
        <span className="muted">
          {' '}
          · {VENDOR_LABEL[account.vendor] ?? account.vendor} {account.externalId}
        </span>
      </header>
      <dl className="facts" data-testid="vendor-state">
        <dt>Last poll</dt>
        <dd data-testid="vendor-last-poll">{lastPollWords(account)}</dd>
        <dt>Next poll</dt>
        <dd data-testid="vendor-next-poll">{nextPollWords(account)}</dd>
        {failed && (
          <>
            <dt>Last error</dt>
            <dd
              className="error"
              data-testid="vendor-error"
              title={account.statusMessage ?? account.lastError ?? ''}
            >
              {outcomeWords(account.lastOutcome)}
              {account.failingSince ? ` (failing since ${relativeTime(account.failingSince)})` : ''}
            </dd>
          </>
        )}
      </dl>
      <p className="muted" data-testid="vendor-uptime">
        Uptime {pct(account.uptime.dayPct)} (24 h) · {pct(account.uptime.weekPct)} (7 days)
        {account.systemInfo.model ? ` · ${account.systemInfo.model}` : ''}
        {account.systemInfo.serial ? ` · serial ${account.systemInfo.serial}` : ''}
      </p>
      {account.notices.map((n) => (
        <p key={n.name} className="muted" data-testid="vendor-notice">
          {n.message}
        </p>
      ))}
      <table className="values" data-testid="vendor-values">
        <tbody>
          {values.map((v) => (
            <tr key={`${v.metric}|${v.equipment}`}>
              <th scope="row" title={v.metric}>
                {metricName(v.metric)}
              </th>
              <td data-metric={v.metric}>{metricValue(v.metric, v.value)}</td>
              <td className="muted">{relativeTime(v.ts)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="actions">
        <button type="button" aria-expanded={open === 'log'} onClick={() => toggle('log')}>
          Connection log
        </button>
        {canManage && (
          <>
            <button
              type="button"
              disabled={busy}
              onClick={() => void act(() => vendorsApi.setPaused(account.id, !account.paused))}
            >
              {account.paused ? 'Resume polling' : 'Pause polling'}
            </button>
            <button type="button" aria-expanded={open === 'rotate'} onClick={() => toggle('rotate')}>
              Rotate credentials
            </button>
            <button type="button" aria-expanded={open === 'remove'} onClick={() => toggle('remove')}>
              Remove
            </button>
          </>
        )}
      </div>
      {open === 'log' && <ConnectionLog accountId={account.id} refreshKey={refreshKey} />}
      {open === 'rotate' && (
        <RotateForm
          account={account}
          onDone={() => {
            setOpen(null);
            onChanged();
          }}
        />
      )}
      {open === 'remove' && (
        <div role="alertdialog" aria-label={`Remove ${account.name}`}>
          <p>
            Remove {account.name}? Polling stops and its credentials are deleted; the data already collected
            stays.
          </p>
          <button type="button" onClick={() => void remove()}>
            Confirm removal
          </button>
        </div>
      )}
      <ErrorNote error={error} />
    </article>
  );
}

export function VendorSystems({ siteId, canManage }: { siteId: string; canManage: boolean }) {
  const accounts = useAsync((signal) => vendorsApi.list(siteId, signal), [siteId]);
  const nodeIds = useMemo(() => (accounts.data ?? []).map((a) => a.nodeId), [accounts.data]);
  const { latest, at } = useLiveValues(siteId, nodeIds);
  const [refreshKey, setRefreshKey] = useState(0);
  const { reload } = accounts;
  // A poll that changes an account's health says so on the node's status; a live snapshot means
  // a poll happened (last poll, uptime and the log moved on).
  useEffect(
    () =>
      realtime.onEvent('node.status', (d) => {
        if (!nodeIds.includes(d.nodeId)) return;
        reload();
        setRefreshKey((k) => k + 1);
      }),
    [nodeIds, reload],
  );
  // biome-ignore lint/correctness/useExhaustiveDependencies: `at` moves on with each snapshot
  useEffect(() => {
    if (at === 0) return;
    reload();
    setRefreshKey((k) => k + 1);
  }, [at]);
  return (
    <>
      <section className="card" aria-labelledby="vendors-title">
        <h2 id="vendors-title">Vendor systems</h2>
        <ErrorNote error={accounts.error} />
        {accounts.data?.length === 0 && <p className="muted">No vendor system connected.</p>}
        {(accounts.data ?? []).map((a) => (
          <VendorCard
            key={a.id}
            account={a}
            values={latest[a.nodeId] ?? []}
            canManage={canManage}
            refreshKey={refreshKey}
            onChanged={reload}
          />
        ))}
      </section>
      {canManage && <VendorConnectForm siteId={siteId} onAdded={reload} />}
    </>
  );
}
