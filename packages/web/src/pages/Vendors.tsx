// Vendor accounts across every site the user may see (fleet-wide for admins): how many are
// healthy, failing or rejected, and each account's health, last success, uptime and last error.
import { vendorsApi } from '../api/vendors.ts';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { pct, VENDOR_LABEL, VendorHealth } from '../components/VendorSystems.tsx';
import { useAsync } from '../lib/use-async.ts';
import { lastPollWords, nextPollWords, outcomeWords } from '../lib/vendor-words.ts';
import { Link } from '../router.tsx';

export function VendorsPage() {
  const accounts = useAsync((signal) => vendorsApi.listAll(signal), []);
  const sorted = [...(accounts.data ?? [])].sort((a, b) => {
    const rank = { rejected: 0, failing: 1, new: 2, ok: 3 } as const;
    return rank[a.health] - rank[b.health] || a.name.localeCompare(b.name);
  });
  const count = (h: string) => sorted.filter((a) => a.health === h).length;
  return (
    <div>
      <div className="page-head">
        <h1 tabIndex={-1}>Vendor systems</h1>
        <button type="button" onClick={accounts.reload}>
          Refresh
        </button>
      </div>
      <ErrorNote error={accounts.error} />
      {accounts.data && (
        <p data-testid="vendor-summary">
          {sorted.length} accounts · {count('ok')} connected · {count('failing')} failing ·{' '}
          {count('rejected')} credentials rejected · {count('new')} waiting for first poll
        </p>
      )}
      <div className="table-wrap">
        <table className="fleet" data-testid="vendor-fleet">
          <thead>
            <tr>
              <th scope="col">System</th>
              <th scope="col">Vendor</th>
              <th scope="col">Health</th>
              <th scope="col">Last poll</th>
              <th scope="col">Next poll</th>
              <th scope="col">Uptime 24 h / 7 d</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((a) => (
              <tr key={a.id} data-vendor-account={a.id}>
                <td>
                  <Link href={`/sites/${a.siteId}`}>{a.name}</Link>
                </td>
                <td>
                  {VENDOR_LABEL[a.vendor] ?? a.vendor} {a.externalId}
                </td>
                <td>
                  <VendorHealth account={a} />
                </td>
                <td>{lastPollWords(a)}</td>
                <td>{nextPollWords(a)}</td>
                <td>
                  {pct(a.uptime.dayPct)} / {pct(a.uptime.weekPct)}
                </td>
                <td title={a.statusMessage ?? a.lastError ?? undefined}>
                  {!a.paused && (a.statusMessage || a.lastError) ? outcomeWords(a.lastOutcome) : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
