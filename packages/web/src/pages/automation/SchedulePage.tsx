// One schedule: the editor (weekly windows or one-off dates, wall time or sunrise/sunset with an
// offset, validity range, exception dates, priority, grace) for those who may edit, a read-only
// account of it for everybody else; its next switching instants and its run log, all on the
// site's clock. Every time typed here is a wall time at the site: the hub reads it in the site's
// zone, so nothing is converted through the browser's zone.
import { type FormEvent, useId, useState } from 'react';
import {
  type Schedule,
  type ScheduleBody,
  type ScheduleRule,
  schedulesApi,
  type TimeSpec,
} from '../../api/automation.ts';
import type { Channel } from '../../api/equipment.ts';
import {
  AutomationCrumbs,
  FieldProblems,
  invalidProps,
  ProblemSummary,
  ReadOnlyNote,
  type SiteFacts,
  useSiteFacts,
} from '../../components/automation/common.tsx';
import { DateList, TimeSpecInput } from '../../components/automation/fields.tsx';
import { ErrorNote } from '../../components/ErrorNote.tsx';
import {
  channelLabel,
  channelName,
  executorText,
  problemsOf,
  RUN_OUTCOME_WORDS,
  siteDateTime,
  timeSpecText,
  WEEKDAYS,
} from '../../lib/automation.ts';
import { useAsync } from '../../lib/use-async.ts';
import { navigate } from '../../router.tsx';

interface Draft {
  name: string;
  channelId: string;
  enabled: boolean;
  priority: number;
  daysKind: 'weekly' | 'dates';
  weekdays: number[];
  dates: string[];
  start: TimeSpec;
  end: TimeSpec | null;
  action: 'on' | 'off';
  validFrom: string;
  validUntil: string;
  exceptDates: string[];
  graceMin: number;
}

function draftOf(s: Schedule | undefined, channels: Channel[]): Draft {
  if (!s)
    return {
      name: '',
      channelId: channels.find((c) => c.capabilities.switch)?.id ?? channels[0]?.id ?? '',
      enabled: true,
      priority: 100,
      daysKind: 'weekly',
      weekdays: [1, 2, 3, 4, 5],
      dates: [],
      start: { at: '07:00' },
      end: { at: '09:00' },
      action: 'on',
      validFrom: '',
      validUntil: '',
      exceptDates: [],
      graceMin: 10,
    };
  return {
    name: s.name,
    channelId: s.channelId,
    enabled: s.enabled,
    priority: s.priority,
    daysKind: s.rule.days.kind,
    weekdays: s.rule.days.kind === 'weekly' ? s.rule.days.weekdays : [1, 2, 3, 4, 5],
    dates: s.rule.days.kind === 'dates' ? s.rule.days.dates : [],
    start: s.rule.start,
    end: s.rule.end ?? null,
    action: s.rule.action,
    validFrom: s.validFrom ?? '',
    validUntil: s.validUntil ?? '',
    exceptDates: s.exceptDates,
    graceMin: s.graceMin,
  };
}

function ruleOf(d: Draft): ScheduleRule {
  return {
    days:
      d.daysKind === 'weekly'
        ? { kind: 'weekly', weekdays: [...d.weekdays].sort() }
        : { kind: 'dates', dates: d.dates },
    start: d.start,
    end: d.end,
    action: d.action,
  };
}

function ScheduleEditor({
  facts,
  schedule,
  onSaved,
}: {
  facts: SiteFacts;
  schedule: Schedule | undefined;
  onSaved: (s: Schedule) => void;
}) {
  const { site, channels } = facts;
  const [d, setD] = useState<Draft>(() => draftOf(schedule, channels));
  const [error, setError] = useState<Error>();
  const [saving, setSaving] = useState(false);
  const [note, setNote] = useState('');
  const id = useId();
  const problems = problemsOf(error);
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setD((prev) => ({ ...prev, [k]: v }));
  const hasCoordinates = site.latitude !== null && site.longitude !== null;
  const switchable = channels.filter((c) => c.capabilities.switch);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setNote('');
    setSaving(true);
    const common = {
      name: d.name.trim(),
      enabled: d.enabled,
      priority: d.priority,
      rule: ruleOf(d),
      validFrom: d.validFrom || null,
      validUntil: d.validUntil || null,
      exceptDates: d.exceptDates,
      graceMin: d.graceMin,
    };
    try {
      const saved = schedule
        ? await schedulesApi.patch(schedule.id, common)
        : await schedulesApi.create(site.id, { channelId: d.channelId, ...common } satisfies ScheduleBody);
      setNote(`Saved (version ${saved.version}).`);
      onSaved(saved);
    } catch (err) {
      setError(err as Error);
    } finally {
      setSaving(false);
    }
  };
  const p = (path: string) => ({ problems, path, id: `${id}${path.replaceAll('/', '-')}` });
  const aria = (path: string) => invalidProps(problems, path, `${id}${path.replaceAll('/', '-')}`);

  return (
    <form
      className="card auto-form"
      onSubmit={submit}
      aria-label={schedule ? `Edit schedule ${schedule.name}` : 'New schedule'}
      noValidate
    >
      <h2>{schedule ? 'Edit schedule' : 'New schedule'}</h2>
      <ProblemSummary error={error} />
      <div className="fields">
        <label>
          Name
          <input
            value={d.name}
            maxLength={200}
            required
            onChange={(e) => set('name', e.target.value)}
            {...aria('/body/name')}
          />
          <FieldProblems {...p('/body/name')} />
        </label>
        <label>
          Channel
          <select
            value={d.channelId}
            disabled={!!schedule}
            onChange={(e) => set('channelId', e.target.value)}
            {...aria('/body/channelId')}
          >
            {switchable.map((c) => (
              <option key={c.id} value={c.id}>
                {channelName(c)} ({c.nodeName})
              </option>
            ))}
          </select>
          <FieldProblems {...p('/body/channelId')} />
        </label>
        <label>
          Switch to
          <select value={d.action} onChange={(e) => set('action', e.target.value as 'on' | 'off')}>
            <option value="on">On (off at the end)</option>
            <option value="off">Off (on at the end)</option>
          </select>
        </label>
      </div>

      <fieldset className="days" {...aria('/body/rule/days')}>
        <legend>Days</legend>
        <div className="inline-fields">
          <label className="inline">
            <input
              type="radio"
              name={`${id}-days`}
              checked={d.daysKind === 'weekly'}
              onChange={() => set('daysKind', 'weekly')}
            />{' '}
            Every week on
          </label>
          <label className="inline">
            <input
              type="radio"
              name={`${id}-days`}
              checked={d.daysKind === 'dates'}
              onChange={() => set('daysKind', 'dates')}
            />{' '}
            One-off dates
          </label>
        </div>
        {d.daysKind === 'weekly' ? (
          <fieldset className="checks" aria-label="Weekdays">
            {WEEKDAYS.map((w) => (
              <label key={w.n} className="inline">
                <input
                  type="checkbox"
                  aria-label={w.long}
                  checked={d.weekdays.includes(w.n)}
                  onChange={(e) =>
                    set(
                      'weekdays',
                      e.target.checked ? [...d.weekdays, w.n] : d.weekdays.filter((x) => x !== w.n),
                    )
                  }
                />{' '}
                {w.short}
              </label>
            ))}
          </fieldset>
        ) : (
          <DateList
            label="Dates"
            dates={d.dates}
            onChange={(v) => set('dates', v)}
            problems={problems}
            path="/body/rule/days/dates"
          />
        )}
        <FieldProblems {...p('/body/rule/days')} />
      </fieldset>

      <TimeSpecInput
        label="Start"
        value={d.start}
        onChange={(t) => set('start', t ?? { at: '07:00' })}
        problems={problems}
        path="/body/rule/start"
        hasCoordinates={hasCoordinates}
      />
      <TimeSpecInput
        label="End"
        value={d.end}
        optional
        onChange={(t) => set('end', t)}
        problems={problems}
        path="/body/rule/end"
        hasCoordinates={hasCoordinates}
      />

      <div className="fields">
        <label>
          Valid from (site date)
          <input
            type="date"
            value={d.validFrom}
            onChange={(e) => set('validFrom', e.target.value)}
            {...aria('/body/validFrom')}
          />
          <FieldProblems {...p('/body/validFrom')} />
        </label>
        <label>
          Valid until (site date)
          <input
            type="date"
            value={d.validUntil}
            onChange={(e) => set('validUntil', e.target.value)}
            {...aria('/body/validUntil')}
          />
          <FieldProblems {...p('/body/validUntil')} />
        </label>
        <label>
          Priority (higher wins on overlap)
          <input
            type="number"
            min={0}
            max={1000}
            step={1}
            value={d.priority}
            onChange={(e) => set('priority', Math.trunc(Number(e.target.value)))}
            {...aria('/body/priority')}
          />
          <FieldProblems {...p('/body/priority')} />
        </label>
        <label>
          Grace after a hub outage (min)
          <input
            type="number"
            min={0}
            max={1440}
            step={1}
            value={d.graceMin}
            onChange={(e) => set('graceMin', Math.trunc(Number(e.target.value)))}
            {...aria('/body/graceMin')}
          />
          <FieldProblems {...p('/body/graceMin')} />
        </label>
      </div>
      <DateList
        label="Exception dates (the schedule does nothing)"
        dates={d.exceptDates}
        onChange={(v) => set('exceptDates', v)}
        problems={problems}
        path="/body/exceptDates"
      />
      <label className="inline">
        <input type="checkbox" checked={d.enabled} onChange={(e) => set('enabled', e.target.checked)} />{' '}
        Enabled
      </label>
      <div className="actions">
        <button type="submit" className="primary" disabled={saving || !d.channelId}>
          {schedule ? 'Save schedule' : 'Create schedule'}
        </button>
        {note && (
          <span className="muted" role="status">
            {note}
          </span>
        )}
      </div>
    </form>
  );
}

function ScheduleFacts({ s, facts }: { s: Schedule; facts: SiteFacts }) {
  return (
    <section className="card" aria-labelledby="schedule-facts">
      <h2 id="schedule-facts">{s.name}</h2>
      <dl className="facts">
        <dt>Channel</dt>
        <dd>{channelLabel(s.channelId, facts.channels)}</dd>
        <dt>When</dt>
        <dd data-testid="schedule-summary">{s.summary}</dd>
        <dt>Start / end</dt>
        <dd>
          {timeSpecText(s.rule.start)}
          {s.rule.end ? ` – ${timeSpecText(s.rule.end)}` : ' (once)'}
        </dd>
        <dt>Valid</dt>
        <dd>
          {s.validFrom ?? 'always'} – {s.validUntil ?? 'open'}
        </dd>
        <dt>Exceptions</dt>
        <dd>{s.exceptDates.length ? s.exceptDates.join(', ') : 'none'}</dd>
        <dt>Priority</dt>
        <dd>{s.priority}</dd>
        <dt>Grace</dt>
        <dd>{s.graceMin} min</dd>
        <dt>Runs on</dt>
        <dd data-testid="schedule-executor">{executorText(s.executorNodeId, facts.channels)}</dd>
        <dt>State</dt>
        <dd>
          {s.enabled ? 'enabled' : 'disabled'} · version {s.version}
        </dd>
      </dl>
    </section>
  );
}

function Upcoming({ s, timeZone }: { s: Schedule; timeZone: string }) {
  const next = useAsync(() => schedulesApi.occurrences(s.id, 10), [s.id, s.version, s.enabled]);
  return (
    <section className="card" aria-labelledby="upcoming-title" data-testid="upcoming">
      <h2 id="upcoming-title">Next runs (site time)</h2>
      <ErrorNote error={next.error} />
      {next.data && !next.data.enabled && (
        <p className="muted">Disabled: this is what it would do; the hub does not run it.</p>
      )}
      {next.data && next.data.items.length === 0 && <p className="muted">Nothing within the horizon.</p>}
      {next.data && next.data.items.length > 0 && (
        <ol className="upcoming">
          {next.data.items.map((o) => (
            <li key={`${o.dueAt}|${o.edge}`}>
              {siteDateTime(o.dueAt, timeZone)} → <strong>{o.state}</strong>{' '}
              <span className="muted">({o.reason})</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function RunLog({ s, timeZone }: { s: Schedule; timeZone: string }) {
  const runs = useAsync(() => schedulesApi.runs(s.id, 50), [s.id]);
  return (
    <section className="card" aria-labelledby="runs-title" data-testid="run-log">
      <div className="card-head">
        <h2 id="runs-title">Run log</h2>
        <button type="button" onClick={runs.reload}>
          Refresh
        </button>
      </div>
      <ErrorNote error={runs.error} />
      {runs.data && runs.data.items.length === 0 && <p className="muted">Not run yet.</p>}
      {runs.data && runs.data.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Due (site time)</th>
                <th scope="col">Ran</th>
                <th scope="col">Set</th>
                <th scope="col">Outcome</th>
                <th scope="col">Why</th>
                <th scope="col">Version</th>
              </tr>
            </thead>
            <tbody>
              {runs.data.items.map((r) => (
                <tr key={r.id}>
                  <td>{siteDateTime(r.dueAt, timeZone)}</td>
                  <td>{siteDateTime(r.ranAt, timeZone)}</td>
                  <td>{r.state}</td>
                  <td>
                    {RUN_OUTCOME_WORDS[r.outcome] ?? r.outcome}
                    {r.commandState ? ` (device: ${r.commandState})` : ''}
                  </td>
                  <td>{r.reason}</td>
                  <td>v{r.scheduleVersion}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Remove({ s, siteId }: { s: Schedule; siteId: string }) {
  const [error, setError] = useState<Error>();
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button type="button" onClick={() => setAsking(true)}>
        Delete schedule
      </button>
    );
  return (
    <div className="actions" data-testid="confirm-delete">
      <span>Delete “{s.name}”? Its run log stays.</span>
      <button
        type="button"
        onClick={async () => {
          try {
            await schedulesApi.remove(s.id);
            navigate(`/sites/${siteId}/automation`);
          } catch (err) {
            setError(err as Error);
          }
        }}
      >
        Delete
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Keep
      </button>
      <ErrorNote error={error} />
    </div>
  );
}

export function SchedulePage({ siteId, scheduleId }: { siteId: string; scheduleId: string }) {
  const facts = useSiteFacts(siteId);
  const isNew = scheduleId === 'new';
  const schedule = useAsync(
    () => (isNew ? Promise.resolve(undefined) : schedulesApi.get(scheduleId)),
    [scheduleId],
  );
  const error = facts.error ?? schedule.error;
  if (error)
    return (
      <div>
        <h1 tabIndex={-1}>Schedule</h1>
        <ErrorNote error={error} />
      </div>
    );
  if (!facts.data || (!isNew && !schedule.data)) return <p className="muted">Loading…</p>;
  const s = schedule.data;
  const { canEdit } = facts.data;
  return (
    <div className="automation">
      <h1 tabIndex={-1}>{s ? `Schedule: ${s.name}` : 'New schedule'}</h1>
      <AutomationCrumbs site={facts.data.site} here={s ? s.name : 'New schedule'} />
      {!canEdit && <ReadOnlyNote reason={facts.data.reason} />}
      {canEdit ? (
        <ScheduleEditor
          key={s ? `${s.id}@${s.version}` : 'new'}
          facts={facts.data}
          schedule={s}
          onSaved={(saved) => {
            if (isNew) navigate(`/sites/${siteId}/automation/schedules/${saved.id}`, true);
            else schedule.reload();
          }}
        />
      ) : (
        s && <ScheduleFacts s={s} facts={facts.data} />
      )}
      {s && <Upcoming s={s} timeZone={facts.data.site.timezone} />}
      {s && <RunLog s={s} timeZone={facts.data.site.timezone} />}
      {s && canEdit && <Remove s={s} siteId={siteId} />}
    </div>
  );
}
