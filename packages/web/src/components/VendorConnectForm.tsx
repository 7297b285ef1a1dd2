// Adding a vendor system to a site: choose the vendor, enter its system number and credentials
// (or approve at Enphase), test the connection, which shows the system's model, serial and size,
// and only then save. Changing any field asks for a new test; the hub tests again on save anyway.
import { type FormEvent, useState } from 'react';
import { type Connection, type SystemInfo, type VendorName, vendorsApi } from '../api/vendors.ts';
import { kw } from '../lib/format.ts';
import { useAsync } from '../lib/use-async.ts';
import { EnphaseAuthorise } from './EnphaseAuthorise.tsx';
import { ErrorNote } from './ErrorNote.tsx';

/** Credential fields per vendor (Enphase has none: its grant comes from the OAuth flow). */
export const CREDENTIAL_FIELDS: Record<VendorName, { key: string; label: string; secret?: boolean }[]> = {
  select_live: [
    { key: 'email', label: 'select.live email' },
    { key: 'password', label: 'select.live password', secret: true },
  ],
  blueprint: [
    { key: 'endpoint', label: 'API endpoint' },
    { key: 'token', label: 'API token', secret: true },
  ],
  enphase: [],
};

export function CredentialInputs({
  vendor,
  values,
  onChange,
}: {
  vendor: VendorName;
  values: Record<string, string>;
  onChange: (next: Record<string, string>) => void;
}) {
  return (
    <>
      {CREDENTIAL_FIELDS[vendor].map((f) => (
        <label key={f.key}>
          {f.label}{' '}
          <input
            type={f.secret ? 'password' : f.key === 'email' ? 'email' : 'text'}
            autoComplete={f.secret ? 'new-password' : 'off'}
            value={values[f.key] ?? ''}
            onChange={(e) => onChange({ ...values, [f.key]: e.target.value })}
            required
          />
        </label>
      ))}
    </>
  );
}

export function SystemFacts({ info }: { info: SystemInfo }) {
  return (
    <dl className="facts" data-testid="vendor-system-info">
      {info.name && (
        <>
          <dt>Name</dt>
          <dd>{info.name}</dd>
        </>
      )}
      <dt>Model</dt>
      <dd data-testid="vendor-model">{info.model ?? '–'}</dd>
      <dt>Serial</dt>
      <dd data-testid="vendor-serial">{info.serial ?? '–'}</dd>
      <dt>Size</dt>
      <dd data-testid="vendor-size">{info.sizeW !== undefined ? kw(info.sizeW) : '–'}</dd>
    </dl>
  );
}

export function VendorConnectForm({ siteId, onAdded }: { siteId: string; onAdded: () => void }) {
  const vendors = useAsync(() => vendorsApi.vendors(), []);
  const [vendor, setVendor] = useState<VendorName>('select_live');
  const [externalId, setExternalId] = useState('');
  const [name, setName] = useState('');
  const [credentials, setCredentials] = useState<Record<string, string>>({});
  const [grant, setGrant] = useState<{ grant: string; systems: { externalId: string; name?: string }[] }>();
  const [tested, setTested] = useState<SystemInfo>();
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  // Any change invalidates the last test: what is saved is what was tested.
  const changed =
    <T,>(set: (v: T) => void) =>
    (v: T) => {
      set(v);
      setTested(undefined);
    };
  const connection = (): Connection => {
    const id = externalId.trim();
    if (vendor === 'enphase') return { vendor, externalId: id, credentials: { grant: grant?.grant ?? '' } };
    if (vendor === 'blueprint')
      return {
        vendor,
        externalId: id,
        credentials: { endpoint: credentials.endpoint ?? '', token: credentials.token ?? '' },
      };
    return {
      vendor,
      externalId: id,
      credentials: { email: credentials.email ?? '', password: credentials.password ?? '' },
    };
  };
  const run = async (what: () => Promise<void>) => {
    setError(undefined);
    setBusy(true);
    try {
      await what();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const test = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => setTested(await vendorsApi.test(siteId, connection())));
  };
  const save = () =>
    run(async () => {
      await vendorsApi.create(siteId, { ...connection(), ...(name.trim() ? { name: name.trim() } : {}) });
      setExternalId('');
      setName('');
      setCredentials({});
      setGrant(undefined);
      setTested(undefined);
      onAdded();
    });

  return (
    <form className="card" onSubmit={test} aria-labelledby="vendor-add-title" data-testid="vendor-add">
      <h2 id="vendor-add-title">Add a vendor system</h2>
      <label>
        Vendor{' '}
        <select
          value={vendor}
          onChange={(e) => {
            changed(setVendor)(e.target.value as VendorName);
            setCredentials({});
          }}
        >
          {(vendors.data ?? [{ vendor: 'select_live' as const, label: 'select.live' }]).map((v) => (
            <option key={v.vendor} value={v.vendor}>
              {v.label}
            </option>
          ))}
        </select>
      </label>
      {vendor === 'enphase' && !grant && (
        <EnphaseAuthorise siteId={siteId} onGrant={(g) => changed(setGrant)(g)} />
      )}
      {vendor === 'enphase' && grant ? (
        <label>
          Enphase system{' '}
          <select value={externalId} onChange={(e) => changed(setExternalId)(e.target.value)} required>
            <option value="">Choose…</option>
            {grant.systems.map((s) => (
              <option key={s.externalId} value={s.externalId}>
                {s.name ? `${s.name} (${s.externalId})` : s.externalId}
              </option>
            ))}
          </select>
        </label>
      ) : vendor !== 'enphase' ? (
        <label>
          System number{' '}
          <input
            value={externalId}
            onChange={(e) => changed(setExternalId)(e.target.value)}
            pattern="[A-Za-z0-9._\-]+"
            maxLength={64}
            required
          />
        </label>
      ) : null}
      <CredentialInputs vendor={vendor} values={credentials} onChange={changed(setCredentials)} />
      <label>
        Name (optional) <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} />
      </label>
      <div className="actions">
        <button type="submit" disabled={busy || (vendor === 'enphase' && !grant)}>
          Test connection
        </button>
        <button type="button" disabled={busy || !tested} onClick={() => void save()}>
          Save system
        </button>
      </div>
      {tested && (
        <div role="status" data-testid="vendor-test-result">
          <p>Connection works. This is the system that will be added:</p>
          <SystemFacts info={tested} />
        </div>
      )}
      <ErrorNote error={error} />
    </form>
  );
}
