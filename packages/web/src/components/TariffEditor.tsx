// A site's tariff versions and the editor for a new one (issue 14.2): import rate with
// time-of-use periods (weekdays, season months), export rate, daily and demand charges, the date
// the version starts pricing, and a preview of the chosen day's rates and an example day's cost.
// The hub validates again and answers every problem at once; those are shown by field.
import { type FormEvent, useState } from 'react';
import { type TariffDefinition, type TariffPeriod, tariffsApi } from '../api/tariffs.ts';
import { localDate } from '../lib/site-time.ts';
import { exampleDayCost, rateSegments } from '../lib/tariff-preview.ts';
import { useAsync } from '../lib/use-async.ts';
import { ErrorNote } from './ErrorNote.tsx';

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const EMPTY: TariffDefinition = {
  currency: 'EUR',
  importRate: 0.3,
  periods: [],
  exportRate: 0.08,
  dailyCharge: 0,
};

/** Form state keeps numbers as typed text, so a half-typed "0." is not rewritten under the cursor. */
interface PeriodDraft {
  name: string;
  from: string;
  to: string;
  rate: string;
  weekdays: number[];
  months: number[];
}
interface Draft {
  validFrom: string;
  name: string;
  currency: string;
  importRate: string;
  exportRate: string;
  dailyCharge: string;
  demandChargePerKw: string;
  periods: PeriodDraft[];
}

function toDraft(d: TariffDefinition, validFrom: string): Draft {
  return {
    validFrom,
    name: '',
    currency: d.currency,
    importRate: String(d.importRate),
    exportRate: String(d.exportRate),
    dailyCharge: String(d.dailyCharge),
    demandChargePerKw: d.demandChargePerKw === undefined ? '' : String(d.demandChargePerKw),
    periods: d.periods.map((p) => ({
      name: p.name ?? '',
      from: p.from,
      to: p.to,
      rate: String(p.rate),
      weekdays: p.weekdays ?? [],
      months: p.months ?? [],
    })),
  };
}

/** Empty checkbox sets mean "every day" / "all year", as the hub reads an absent list. */
function toDefinition(d: Draft): TariffDefinition {
  return {
    currency: d.currency.trim().toUpperCase(),
    importRate: Number(d.importRate),
    exportRate: Number(d.exportRate),
    dailyCharge: Number(d.dailyCharge || 0),
    ...(d.demandChargePerKw.trim() ? { demandChargePerKw: Number(d.demandChargePerKw) } : {}),
    periods: d.periods.map(
      (p): TariffPeriod => ({
        ...(p.name.trim() ? { name: p.name.trim() } : {}),
        from: p.from,
        to: p.to,
        rate: Number(p.rate),
        ...(p.weekdays.length ? { weekdays: [...p.weekdays].sort() } : {}),
        ...(p.months.length ? { months: [...p.months].sort((a, b) => a - b) } : {}),
      }),
    ),
  };
}

const money = (v: number, currency: string) =>
  Number.isFinite(v) ? new Intl.NumberFormat('en-GB', { style: 'currency', currency }).format(v) : '–';
const safeMoney = (v: number, currency: string) => {
  try {
    return money(v, currency);
  } catch {
    return `${v.toFixed(2)} ${currency}`;
  }
};
const toggle = (list: number[], v: number) => (list.includes(v) ? list.filter((x) => x !== v) : [...list, v]);

function Checks(props: {
  legend: string;
  names: string[];
  first: number;
  value: number[];
  onChange: (v: number[]) => void;
}) {
  return (
    <fieldset className="checks">
      <legend>{props.legend}</legend>
      {props.names.map((n, i) => (
        <label key={n}>
          <input
            type="checkbox"
            checked={props.value.includes(i + props.first)}
            onChange={() => props.onChange(toggle(props.value, i + props.first))}
          />
          {n}
        </label>
      ))}
    </fieldset>
  );
}

export function TariffEditor({
  siteId,
  timeZone,
  canEdit,
}: {
  siteId: string;
  timeZone: string;
  canEdit: boolean;
}) {
  const versions = useAsync((signal) => tariffsApi.list(siteId, signal), [siteId]);
  const today = localDate(Date.now(), timeZone);
  const [draft, setDraft] = useState<Draft>();
  const [previewDate, setPreviewDate] = useState(today);
  const [error, setError] = useState<Error>();
  const [saved, setSaved] = useState('');
  const list = versions.data ?? [];
  const current = [...list].reverse().find((v) => v.validFrom <= today);

  const set = (patch: Partial<Draft>) => setDraft((d) => (d ? { ...d, ...patch } : d));
  const setPeriod = (i: number, patch: Partial<PeriodDraft>) =>
    setDraft((d) => (d ? { ...d, periods: d.periods.map((p, k) => (k === i ? { ...p, ...patch } : p)) } : d));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!draft) return;
    setError(undefined);
    setSaved('');
    try {
      const created = await tariffsApi.create(siteId, {
        validFrom: draft.validFrom,
        ...(draft.name.trim() ? { name: draft.name.trim() } : {}),
        definition: toDefinition(draft),
      });
      setSaved(`Saved: prices days from ${created.validFrom} on.`);
      setDraft(undefined);
      versions.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  const remove = async (id: string) => {
    setError(undefined);
    try {
      await tariffsApi.remove(siteId, id);
      versions.reload();
    } catch (err) {
      setError(err as Error);
    }
  };

  const preview = draft ? toDefinition(draft) : current?.definition;
  const previewValid = preview && /^[A-Z]{3}$/.test(preview.currency);
  return (
    <section className="card tariffs" aria-labelledby="tariff-title" data-testid="tariffs">
      <div className="card-head">
        <h2 id="tariff-title">Tariff</h2>
        {canEdit && !draft && (
          <button type="button" onClick={() => setDraft(toDraft(current?.definition ?? EMPTY, today))}>
            {current ? 'New version from the current tariff' : 'Set a tariff'}
          </button>
        )}
      </div>
      {versions.error && <ErrorNote error={versions.error} />}
      {versions.data && list.length === 0 && !draft && (
        <p className="muted">No tariff yet: costs and savings are not computed for this site.</p>
      )}
      {list.length > 0 && (
        <div className="table-wrap">
          <table className="versions" data-testid="tariff-versions">
            <thead>
              <tr>
                <th scope="col">From</th>
                <th scope="col">Name</th>
                <th scope="col">Import</th>
                <th scope="col">Export</th>
                <th scope="col">Periods</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((v) => (
                <tr key={v.id} data-valid-from={v.validFrom}>
                  <td>
                    {v.validFrom}
                    {v === current && <span className="muted"> (in force)</span>}
                  </td>
                  <td>{v.name ?? '–'}</td>
                  <td>
                    {safeMoney(v.definition.importRate, v.definition.currency)}
                    /kWh
                  </td>
                  <td>
                    {safeMoney(v.definition.exportRate, v.definition.currency)}
                    /kWh
                  </td>
                  <td>{v.definition.periods.length}</td>
                  <td>
                    {canEdit && v.validFrom > today && (
                      <button type="button" onClick={() => void remove(v.id)}>
                        Delete
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {draft && (
        <form onSubmit={submit} aria-label="New tariff version" className="tariff-form">
          <div className="fields">
            <label>
              Starts on (site day)
              <input
                type="date"
                required
                value={draft.validFrom}
                onChange={(e) => set({ validFrom: e.target.value })}
              />
            </label>
            <label>
              Name{' '}
              <input value={draft.name} maxLength={200} onChange={(e) => set({ name: e.target.value })} />
            </label>
            <label>
              Currency
              <input
                value={draft.currency}
                maxLength={3}
                size={4}
                onChange={(e) => set({ currency: e.target.value })}
              />
            </label>
            <label>
              Import per kWh (standard)
              <input
                inputMode="decimal"
                required
                value={draft.importRate}
                onChange={(e) => set({ importRate: e.target.value })}
              />
            </label>
            <label>
              Export per kWh
              <input
                inputMode="decimal"
                required
                value={draft.exportRate}
                onChange={(e) => set({ exportRate: e.target.value })}
              />
            </label>
            <label>
              Daily charge
              <input
                inputMode="decimal"
                value={draft.dailyCharge}
                onChange={(e) => set({ dailyCharge: e.target.value })}
              />
            </label>
            <label>
              Demand charge per kW (optional)
              <input
                inputMode="decimal"
                value={draft.demandChargePerKw}
                onChange={(e) => set({ demandChargePerKw: e.target.value })}
              />
            </label>
          </div>
          <h3>Time-of-use periods</h3>
          <p className="muted">
            The first period that matches a time wins; outside every period the standard rate applies.
          </p>
          {draft.periods.map((p, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity until saved
            <fieldset key={i} className="period" data-testid="tariff-period">
              <legend>Period {i + 1}</legend>
              <div className="fields">
                <label>
                  Name{' '}
                  <input
                    value={p.name}
                    maxLength={60}
                    onChange={(e) => setPeriod(i, { name: e.target.value })}
                  />
                </label>
                <label>
                  From{' '}
                  <input
                    type="time"
                    required
                    value={p.from}
                    onChange={(e) => setPeriod(i, { from: e.target.value })}
                  />
                </label>
                <label>
                  To{' '}
                  <input
                    type="time"
                    required
                    value={p.to}
                    onChange={(e) => setPeriod(i, { to: e.target.value })}
                  />
                </label>
                <label>
                  Rate per kWh
                  <input
                    inputMode="decimal"
                    required
                    value={p.rate}
                    onChange={(e) => setPeriod(i, { rate: e.target.value })}
                  />
                </label>
              </div>
              <Checks
                legend="Days (none = every day)"
                names={WEEKDAYS}
                first={0}
                value={p.weekdays}
                onChange={(v) => setPeriod(i, { weekdays: v })}
              />
              <Checks
                legend="Months (none = all year)"
                names={MONTHS}
                first={1}
                value={p.months}
                onChange={(v) => setPeriod(i, { months: v })}
              />
              <button type="button" onClick={() => set({ periods: draft.periods.filter((_, k) => k !== i) })}>
                Remove period {i + 1}
              </button>
            </fieldset>
          ))}
          <div className="actions">
            <button
              type="button"
              onClick={() =>
                set({
                  periods: [
                    ...draft.periods,
                    {
                      name: '',
                      from: '17:00',
                      to: '21:00',
                      rate: draft.importRate,
                      weekdays: [],
                      months: [],
                    },
                  ],
                })
              }
            >
              Add a period
            </button>
            <button type="submit">Save version</button>
            <button type="button" onClick={() => setDraft(undefined)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <ErrorNote error={error} />
      {saved && (
        <p role="status" data-testid="tariff-saved">
          {saved}
        </p>
      )}
      {preview && previewValid && (
        <div className="tariff-preview" data-testid="tariff-preview">
          <h3>
            {draft ? 'Preview' : 'Rates'} on{' '}
            <input
              type="date"
              aria-label="Preview day"
              value={previewDate}
              onChange={(e) => e.target.value && setPreviewDate(e.target.value)}
            />
          </h3>
          <ul className="segments">
            {rateSegments(preview, previewDate).map((s) => (
              <li key={s.from} data-rate={s.rate}>
                {s.from}–{s.to} <strong>{safeMoney(s.rate, preview.currency)}/kWh</strong>{' '}
                <span className="muted">{s.label}</span>
              </li>
            ))}
          </ul>
          <p data-testid="tariff-example">
            A day importing 1 kWh every hour and exporting 5 kWh costs{' '}
            <strong>{safeMoney(exampleDayCost(preview, previewDate, 1, 5), preview.currency)}</strong> (daily
            charge included).
          </p>
        </div>
      )}
    </section>
  );
}
