// Edit a site: name, time zone (from the browser's own list of IANA zones), coordinates, system
// size and, for those who decide it (admin, the owner org's admin), the installer org. The hub is
// the validator (known zone, ranges, org exists, who may change the installer): the form sends what
// was typed and shows each refusal beside its field (lib/errors.ts fieldProblem), the sentence
// beneath. Only text that is not a number at all is stopped here.
import { type FormEvent, type ReactNode, useMemo, useState } from 'react';
import type { Org, Site, SitePatch } from '../api/sites.ts';
import { sitesApi } from '../api/sites.ts';
import { fieldProblem } from '../lib/errors.ts';
import { ErrorNote } from './ErrorNote.tsx';

/** Every zone the browser knows, the site's current one included even if the list lacks it. */
function zones(current: string): string[] {
  const list = Intl.supportedValuesOf('timeZone');
  return list.includes(current) ? list : [current, ...list];
}

const text = (n: number | null) => (n === null ? '' : String(n));

type NumberField = 'latitude' | 'longitude' | 'systemKw';

export function SiteEditForm({
  site,
  orgs,
  canChangeInstaller,
  onSaved,
}: {
  site: Site;
  orgs: Org[] | null | undefined;
  canChangeInstaller: boolean;
  onSaved: (site: Site) => void;
}) {
  const [form, setForm] = useState({
    name: site.name,
    timezone: site.timezone,
    latitude: text(site.latitude),
    longitude: text(site.longitude),
    systemKw: text(site.system_kw),
    installerOrgId: site.installer_org_id ?? '',
  });
  const [error, setError] = useState<Error>();
  const [local, setLocal] = useState<Partial<Record<NumberField, string>>>({});
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const zoneList = useMemo(() => zones(site.timezone), [site.timezone]);
  const installers = (orgs ?? []).filter((o) => o.kind === 'installer');

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setSaved(false);
    const numbers: Partial<Record<NumberField, number | null>> = {};
    const problems: Partial<Record<NumberField, string>> = {};
    for (const f of ['latitude', 'longitude', 'systemKw'] as const) {
      const typed = form[f].trim();
      const value = typed === '' ? null : Number(typed);
      if (value !== null && !Number.isFinite(value)) problems[f] = 'Enter a number, for example 52.5.';
      else numbers[f] = value;
    }
    setLocal(problems);
    if (Object.keys(problems).length > 0) return;
    const patch: SitePatch = { name: form.name.trim(), timezone: form.timezone, ...numbers };
    if (canChangeInstaller && form.installerOrgId !== (site.installer_org_id ?? ''))
      patch.installerOrgId = form.installerOrgId || null;
    setBusy(true);
    try {
      const updated = await sitesApi.patch(site.id, patch);
      setSaved(true);
      onSaved(updated);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  const problem = (f: keyof typeof form) => (local as Record<string, string>)[f] || fieldProblem(error, f);
  const field = (f: keyof typeof form, label: string, input: ReactNode) => {
    const p = problem(f);
    return (
      <div className="field">
        <label htmlFor={`site-${f}`}>{label}</label>
        {input}
        {p && (
          <p id={`site-${f}-problem`} className="field-problem" data-testid={`site-${f}-problem`}>
            {p}
          </p>
        )}
      </div>
    );
  };
  const attrs = (f: keyof typeof form) => ({
    id: `site-${f}`,
    value: form[f],
    'aria-invalid': problem(f) ? true : undefined,
    'aria-describedby': problem(f) ? `site-${f}-problem` : undefined,
    onChange: (e: { target: { value: string } }) => {
      setForm((old) => ({ ...old, [f]: e.target.value }));
      setSaved(false);
    },
  });
  const installerName = installers.find((o) => o.id === site.installer_org_id)?.name;

  return (
    <form className="site-edit" onSubmit={submit} noValidate data-testid="site-edit">
      {field('name', 'Name', <input {...attrs('name')} />)}
      {field(
        'timezone',
        'Time zone',
        <select {...attrs('timezone')}>
          {zoneList.map((z) => (
            <option key={z}>{z}</option>
          ))}
        </select>,
      )}
      {field('latitude', 'Latitude (°, −90 to 90)', <input inputMode="decimal" {...attrs('latitude')} />)}
      {field(
        'longitude',
        'Longitude (°, −180 to 180)',
        <input inputMode="decimal" {...attrs('longitude')} />,
      )}
      {field('systemKw', 'System size (kWp)', <input inputMode="decimal" {...attrs('systemKw')} />)}
      {canChangeInstaller ? (
        field(
          'installerOrgId',
          'Installer',
          <select {...attrs('installerOrgId')}>
            <option value="">No installer</option>
            {installers.map((o) => (
              <option key={o.id} value={o.id}>
                {o.name}
              </option>
            ))}
          </select>,
        )
      ) : (
        <p className="muted" data-testid="site-installer">
          Installer: {site.installer_org_id ? (installerName ?? 'set') : 'none'} (the site's owner decides)
        </p>
      )}
      <div className="actions">
        <button type="submit" disabled={busy}>
          Save site
        </button>
      </div>
      {saved && (
        <p className="ok" role="status">
          Site saved.
        </p>
      )}
      <ErrorNote error={error} />
    </form>
  );
}
