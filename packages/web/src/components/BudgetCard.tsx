// Monthly budget of a site: what this month (on the site's calendar) has cost so far, where it
// will end at this pace, and the budget itself. The hub computes every figure and validates the
// amount; it also notifies the org's channels at 80 % and 100 %, once per month each, which is
// listed here so nobody wonders whether a message went out.
import { type FormEvent, useEffect, useState } from 'react';
import { budgetsApi } from '../api/budgets.ts';
import { fieldProblem } from '../lib/errors.ts';
import { useAsync } from '../lib/use-async.ts';
import { ErrorNote } from './ErrorNote.tsx';

const money = (n: number, currency: string | null) => `${n.toFixed(2)}${currency ? ` ${currency}` : ''}`;

export function BudgetCard({ siteId, canEdit }: { siteId: string; canEdit: boolean }) {
  const status = useAsync((signal) => budgetsApi.get(siteId, signal), [siteId]);
  const s = status.data;
  const [text, setText] = useState('');
  const [error, setError] = useState<Error>();
  const [local, setLocal] = useState('');
  const [saved, setSaved] = useState(false);
  useEffect(() => setText(s?.monthlyAmount == null ? '' : String(s.monthlyAmount)), [s?.monthlyAmount]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setSaved(false);
    const typed = text.trim();
    const value = typed === '' ? null : Number(typed);
    if (value !== null && !Number.isFinite(value)) {
      setLocal('Enter a number, for example 120.');
      return;
    }
    setLocal('');
    try {
      await budgetsApi.put(siteId, value);
      setSaved(true);
    } catch (err) {
      setError(err as Error);
    }
    status.reload();
  };
  const problem = local || fieldProblem(error, 'monthlyAmount');
  const over = s?.forecastPercent != null && s.forecastPercent > 100;

  return (
    <section className="card" aria-labelledby="budget-title" data-testid="budget">
      <h2 id="budget-title">Monthly budget</h2>
      <ErrorNote error={status.error} />
      {s && (
        <dl className="budget-figures">
          <div>
            <dt>Month (site time, {s.timezone})</dt>
            <dd data-testid="budget-month">{s.month}</dd>
          </div>
          <div>
            <dt>Spent so far</dt>
            <dd data-testid="budget-spent">
              {money(s.spent, s.currency)}
              {s.spentPercent !== null ? ` (${Math.round(s.spentPercent)} %)` : ''}
            </dd>
          </div>
          <div>
            <dt>Forecast for the month end</dt>
            <dd data-testid="budget-forecast" className={over ? 'alert-critical' : undefined}>
              {money(s.forecast, s.currency)}
              {s.forecastPercent !== null ? ` (${Math.round(s.forecastPercent)} % of the budget)` : ''}
            </dd>
          </div>
          <div>
            <dt>Notified this month</dt>
            <dd data-testid="budget-notified">
              {s.notified.length ? s.notified.map((t) => `${t} %`).join(', ') : 'nothing yet'}
            </dd>
          </div>
        </dl>
      )}
      {canEdit ? (
        <form onSubmit={submit} noValidate className="inline-field">
          <label htmlFor="budget-amount">Budget per month{s?.currency ? ` (${s.currency})` : ''}</label>
          <input
            id="budget-amount"
            inputMode="decimal"
            value={text}
            placeholder="e.g. 120"
            onChange={(e) => {
              setText(e.target.value);
              setSaved(false);
            }}
            aria-invalid={problem ? true : undefined}
            aria-describedby={problem ? 'budget-problem' : 'budget-help'}
          />
          <button type="submit">Save budget</button>
        </form>
      ) : (
        s && <p>Budget: {s.monthlyAmount === null ? 'not set' : money(s.monthlyAmount, s.currency)}</p>
      )}
      {problem ? (
        <p id="budget-problem" className="field-problem" data-testid="budget-problem">
          {problem}
        </p>
      ) : (
        <p id="budget-help" className="muted">
          The organisation's notification channels hear at 80 % and at 100 %, once per month each. Leave empty
          to remove the budget.
        </p>
      )}
      {saved && (
        <p className="ok" role="status">
          Budget saved.
        </p>
      )}
      <ErrorNote error={error} />
    </section>
  );
}
