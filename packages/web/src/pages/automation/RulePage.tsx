// One rule: trigger → conditions → actions. Those who may edit get the editor, whose refused
// saves list every problem the hub found at once (summary + beside each field), and a dry run that
// replays the unsaved definition over the site's last 7 days of stored telemetry: when it would
// have fired and what it would have switched. Everybody sees the rule in words and its run log.
// Times of day in triggers and conditions are wall times at the site.
import { METRICS, metricDefinition } from '@wattfleet/protocol/metrics';
import { type FormEvent, type ReactNode, useId, useState } from 'react';
import {
  type DryRunResult,
  type Rule,
  type RuleAction,
  type RuleBody,
  type RuleCondition,
  type RuleDefinition,
  type RuleTrigger,
  rulesApi,
} from '../../api/automation.ts';
import type { ApiProblem } from '../../api/http.ts';
import {
  AutomationCrumbs,
  FieldProblems,
  invalidProps,
  ProblemSummary,
  ReadOnlyNote,
  type SiteFacts,
  useSiteFacts,
} from '../../components/automation/common.tsx';
import { ErrorNote } from '../../components/ErrorNote.tsx';
import {
  actionText,
  channelLabel,
  channelName,
  conditionText,
  problemsOf,
  siteDateTime,
  triggerText,
} from '../../lib/automation.ts';
import { useAsync } from '../../lib/use-async.ts';
import { navigate } from '../../router.tsx';

type TriggerType = RuleTrigger['type'];
type ConditionType = RuleCondition['type'];
type ActionType = RuleAction['type'];

function defaultTrigger(type: TriggerType): RuleTrigger {
  switch (type) {
    case 'metric':
      return { type, metric: 'grid_w', op: 'below', threshold: -2000, forS: 300, hysteresis: 200 };
    case 'time':
      return { type, at: '07:00' };
    case 'tariff_period':
      return { type };
    case 'node':
      return { type, event: 'offline' };
    case 'alert':
      return { type, event: 'opened' };
  }
}

function defaultCondition(type: ConditionType, facts: SiteFacts): RuleCondition {
  switch (type) {
    case 'time_window':
      return { type, from: '10:00', to: '16:00' };
    case 'battery_soc':
      return { type, min: 50 };
    case 'channel_state':
      return { type, channelId: facts.channels[0]?.id ?? '', state: 'off' };
    case 'automation_active':
      return { type };
  }
}

function defaultAction(type: ActionType, facts: SiteFacts): RuleAction {
  switch (type) {
    case 'set_channel':
      return {
        type,
        channelId: facts.channels.find((c) => c.capabilities.switch)?.id ?? facts.channels[0]?.id ?? '',
        state: 'on',
      };
    case 'scene':
      return { type, sceneId: facts.scenes[0]?.id ?? '' };
    case 'notify':
      return { type };
    case 'command':
      return { type, nodeId: facts.site.nodes[0]?.id ?? '', command: 'DIAGNOSTICS' };
  }
}

/** An input's value as a number; an empty field is sent as is (NaN → null) for the hub to name. */
const num = (v: string) => (v.trim() === '' ? Number.NaN : Number(v));

interface FieldCtx {
  problems: readonly ApiProblem[];
  id: string;
}

/** A labelled field with the hub's problems for `path` beneath it (outside the label, so the
 * control's name is the label alone; the problems are its description). */
function Field({
  ctx,
  path,
  label,
  children,
}: {
  ctx: FieldCtx;
  path: string;
  label: string;
  children: (props: { id: string } & ReturnType<typeof invalidProps>) => ReactNode;
}) {
  const pid = `${ctx.id}${path.replaceAll('/', '-')}`;
  const inputId = `${pid}-input`;
  return (
    <div className="field">
      <label htmlFor={inputId}>{label}</label>
      {children({ id: inputId, ...invalidProps(ctx.problems, path, pid) })}
      <FieldProblems problems={ctx.problems} path={path} id={pid} />
    </div>
  );
}

function TriggerFields({
  t,
  set,
  facts,
  ctx,
}: {
  t: RuleTrigger;
  set: (t: RuleTrigger) => void;
  facts: SiteFacts;
  ctx: FieldCtx;
}) {
  const P = '/body/trigger';
  return (
    <fieldset className="rule-part" data-testid="trigger">
      <legend>When (trigger)</legend>
      <div className="fields">
        <Field ctx={ctx} path={`${P}/type`} label="Trigger">
          {(aria) => (
            <select
              value={t.type}
              onChange={(e) => set(defaultTrigger(e.target.value as TriggerType))}
              {...aria}
            >
              <option value="metric">A measurement crosses a threshold</option>
              <option value="time">A time of day</option>
              <option value="tariff_period">A tariff period starts</option>
              <option value="node">A node goes offline / online</option>
              <option value="alert">An alert opens / resolves</option>
            </select>
          )}
        </Field>
        {t.type === 'metric' && (
          <>
            <Field ctx={ctx} path={`${P}/metric`} label="Metric">
              {(aria) => (
                <>
                  <input
                    list={`${ctx.id}-metrics`}
                    value={t.metric}
                    onChange={(e) => set({ ...t, metric: e.target.value.trim() })}
                    {...aria}
                  />
                  <datalist id={`${ctx.id}-metrics`}>
                    {METRICS.map((m) => (
                      <option key={m.name} value={m.name}>
                        {m.description}
                      </option>
                    ))}
                  </datalist>
                </>
              )}
            </Field>
            <Field ctx={ctx} path={`${P}/nodeId`} label="Node">
              {(aria) => (
                <select
                  value={t.nodeId ?? ''}
                  onChange={(e) => {
                    const { nodeId: _drop, ...rest } = t;
                    set(e.target.value ? { ...rest, nodeId: e.target.value } : rest);
                  }}
                  {...aria}
                >
                  <option value="">Any node of the site</option>
                  {facts.site.nodes.map((n) => (
                    <option key={n.id} value={n.id}>
                      {n.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field ctx={ctx} path={`${P}/op`} label="Direction">
              {(aria) => (
                <select
                  value={t.op}
                  onChange={(e) => set({ ...t, op: e.target.value as 'above' | 'below' })}
                  {...aria}
                >
                  <option value="above">at or above</option>
                  <option value="below">at or below</option>
                </select>
              )}
            </Field>
            <Field
              ctx={ctx}
              path={`${P}/threshold`}
              label={`Threshold${metricDefinition(t.metric)?.unit ? ` (${metricDefinition(t.metric)!.unit})` : ''}`}
            >
              {(aria) => (
                <input
                  type="number"
                  step="any"
                  value={Number.isNaN(t.threshold) ? '' : t.threshold}
                  onChange={(e) => set({ ...t, threshold: num(e.target.value) })}
                  {...aria}
                />
              )}
            </Field>
            <Field ctx={ctx} path={`${P}/forS`} label="For at least (s)">
              {(aria) => (
                <input
                  type="number"
                  step={1}
                  min={0}
                  value={Number.isNaN(t.forS) ? '' : t.forS}
                  onChange={(e) => set({ ...t, forS: num(e.target.value) })}
                  {...aria}
                />
              )}
            </Field>
            <Field ctx={ctx} path={`${P}/hysteresis`} label="Hysteresis (re-arm band)">
              {(aria) => (
                <input
                  type="number"
                  step="any"
                  min={0}
                  value={Number.isNaN(t.hysteresis) ? '' : t.hysteresis}
                  onChange={(e) => set({ ...t, hysteresis: num(e.target.value) })}
                  {...aria}
                />
              )}
            </Field>
          </>
        )}
        {t.type === 'time' && (
          <Field ctx={ctx} path={`${P}/at`} label="At (site time)">
            {(aria) => (
              <input type="time" value={t.at} onChange={(e) => set({ ...t, at: e.target.value })} {...aria} />
            )}
          </Field>
        )}
        {t.type === 'tariff_period' && (
          <Field ctx={ctx} path={`${P}/period`} label="Period name (empty: any)">
            {(aria) => (
              <input
                value={t.period ?? ''}
                maxLength={60}
                onChange={(e) =>
                  set(e.target.value ? { type: t.type, period: e.target.value } : { type: t.type })
                }
                {...aria}
              />
            )}
          </Field>
        )}
        {t.type === 'node' && (
          <>
            <Field ctx={ctx} path={`${P}/nodeId`} label="Node">
              {(aria) => (
                <select
                  value={t.nodeId ?? ''}
                  onChange={(e) =>
                    set(
                      e.target.value
                        ? { type: t.type, event: t.event, nodeId: e.target.value }
                        : { type: t.type, event: t.event },
                    )
                  }
                  {...aria}
                >
                  <option value="">Any node of the site</option>
                  {facts.site.nodes.map((n) => (
                    <option key={n.id} value={n.id}>
                      {n.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field ctx={ctx} path={`${P}/event`} label="Goes">
              {(aria) => (
                <select
                  value={t.event}
                  onChange={(e) => set({ ...t, event: e.target.value as 'offline' | 'online' })}
                  {...aria}
                >
                  <option value="offline">offline</option>
                  <option value="online">online</option>
                </select>
              )}
            </Field>
          </>
        )}
        {t.type === 'alert' && (
          <>
            <Field ctx={ctx} path={`${P}/event`} label="Alert">
              {(aria) => (
                <select
                  value={t.event}
                  onChange={(e) => set({ ...t, event: e.target.value as 'opened' | 'resolved' })}
                  {...aria}
                >
                  <option value="opened">opens</option>
                  <option value="resolved">resolves</option>
                </select>
              )}
            </Field>
            <Field ctx={ctx} path={`${P}/rule`} label="Alert rule (empty: any)">
              {(aria) => (
                <input
                  value={t.rule ?? ''}
                  maxLength={100}
                  onChange={(e) =>
                    set(
                      e.target.value
                        ? { type: t.type, event: t.event, rule: e.target.value }
                        : { type: t.type, event: t.event },
                    )
                  }
                  {...aria}
                />
              )}
            </Field>
          </>
        )}
      </div>
    </fieldset>
  );
}

function ConditionFields({
  c,
  i,
  set,
  remove,
  facts,
  ctx,
}: {
  c: RuleCondition;
  i: number;
  set: (c: RuleCondition) => void;
  remove: () => void;
  facts: SiteFacts;
  ctx: FieldCtx;
}) {
  const P = `/body/conditions/${i}`;
  const n = i + 1;
  return (
    <fieldset className="rule-part" data-testid="condition">
      <legend>Condition {n}</legend>
      <div className="fields">
        <Field ctx={ctx} path={`${P}/type`} label={`Condition ${n} kind`}>
          {(aria) => (
            <select
              value={c.type}
              onChange={(e) => set(defaultCondition(e.target.value as ConditionType, facts))}
              {...aria}
            >
              <option value="time_window">Time window</option>
              <option value="battery_soc">Battery state of charge</option>
              <option value="channel_state">Another channel's state</option>
              <option value="automation_active">Automation not paused</option>
            </select>
          )}
        </Field>
        {c.type === 'time_window' && (
          <>
            <Field ctx={ctx} path={`${P}/from`} label={`Condition ${n} from (site time)`}>
              {(aria) => (
                <input
                  type="time"
                  value={c.from}
                  onChange={(e) => set({ ...c, from: e.target.value })}
                  {...aria}
                />
              )}
            </Field>
            <Field ctx={ctx} path={`${P}/to`} label={`Condition ${n} to (site time)`}>
              {(aria) => (
                <input
                  type="time"
                  value={c.to}
                  onChange={(e) => set({ ...c, to: e.target.value })}
                  {...aria}
                />
              )}
            </Field>
          </>
        )}
        {c.type === 'battery_soc' && (
          <>
            <Field ctx={ctx} path={`${P}/min`} label={`Condition ${n} minimum (%)`}>
              {(aria) => (
                <input
                  type="number"
                  step="any"
                  value={c.min ?? ''}
                  onChange={(e) => {
                    const { min: _drop, ...rest } = c;
                    set(e.target.value === '' ? rest : { ...rest, min: Number(e.target.value) });
                  }}
                  {...aria}
                />
              )}
            </Field>
            <Field ctx={ctx} path={`${P}/max`} label={`Condition ${n} maximum (%)`}>
              {(aria) => (
                <input
                  type="number"
                  step="any"
                  value={c.max ?? ''}
                  onChange={(e) => {
                    const { max: _drop, ...rest } = c;
                    set(e.target.value === '' ? rest : { ...rest, max: Number(e.target.value) });
                  }}
                  {...aria}
                />
              )}
            </Field>
          </>
        )}
        {c.type === 'channel_state' && (
          <>
            <Field ctx={ctx} path={`${P}/channelId`} label={`Condition ${n} channel`}>
              {(aria) => (
                <select
                  value={c.channelId}
                  onChange={(e) => set({ ...c, channelId: e.target.value })}
                  {...aria}
                >
                  {facts.channels.map((ch) => (
                    <option key={ch.id} value={ch.id}>
                      {channelName(ch)} ({ch.nodeName})
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field ctx={ctx} path={`${P}/state`} label={`Condition ${n} is`}>
              {(aria) => (
                <select
                  value={c.state}
                  onChange={(e) => set({ ...c, state: e.target.value as 'on' | 'off' })}
                  {...aria}
                >
                  <option value="on">on</option>
                  <option value="off">off</option>
                </select>
              )}
            </Field>
          </>
        )}
      </div>
      <FieldProblems
        problems={ctx.problems.filter((p) => p.path === P)}
        path={P}
        id={`${ctx.id}${P.replaceAll('/', '-')}-own`}
      />
      <button type="button" onClick={remove}>
        Remove condition {n}
      </button>
    </fieldset>
  );
}

function ActionFields({
  a,
  i,
  set,
  remove,
  facts,
  ctx,
}: {
  a: RuleAction;
  i: number;
  set: (a: RuleAction) => void;
  remove?: () => void;
  facts: SiteFacts;
  ctx: FieldCtx;
}) {
  const P = `/body/actions/${i}`;
  const n = i + 1;
  return (
    <fieldset className="rule-part" data-testid="action">
      <legend>Action {n}</legend>
      <div className="fields">
        <Field ctx={ctx} path={`${P}/type`} label={`Action ${n} kind`}>
          {(aria) => (
            <select
              value={a.type}
              onChange={(e) => set(defaultAction(e.target.value as ActionType, facts))}
              {...aria}
            >
              <option value="set_channel">Switch a channel</option>
              <option value="scene">Activate a scene</option>
              <option value="notify">Notify</option>
              <option value="command">Send a command</option>
            </select>
          )}
        </Field>
        {a.type === 'set_channel' && (
          <>
            <Field ctx={ctx} path={`${P}/channelId`} label={`Action ${n} channel`}>
              {(aria) => (
                <select
                  value={a.channelId}
                  onChange={(e) => set({ ...a, channelId: e.target.value })}
                  {...aria}
                >
                  {facts.channels.map((ch) => (
                    <option key={ch.id} value={ch.id}>
                      {channelName(ch)} ({ch.nodeName})
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field ctx={ctx} path={`${P}/state`} label={`Action ${n} switch to`}>
              {(aria) => (
                <select
                  value={a.state}
                  onChange={(e) => set({ ...a, state: e.target.value as 'on' | 'off' })}
                  {...aria}
                >
                  <option value="on">on</option>
                  <option value="off">off</option>
                </select>
              )}
            </Field>
          </>
        )}
        {a.type === 'scene' && (
          <Field ctx={ctx} path={`${P}/sceneId`} label={`Action ${n} scene`}>
            {(aria) => (
              <select value={a.sceneId} onChange={(e) => set({ ...a, sceneId: e.target.value })} {...aria}>
                {facts.scenes.length === 0 && <option value="">No scene on this site</option>}
                {facts.scenes.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
        {a.type === 'notify' && (
          <Field ctx={ctx} path={`${P}/message`} label={`Action ${n} message`}>
            {(aria) => (
              <input
                value={a.message ?? ''}
                maxLength={500}
                onChange={(e) =>
                  set(e.target.value ? { type: a.type, message: e.target.value } : { type: a.type })
                }
                {...aria}
              />
            )}
          </Field>
        )}
        {a.type === 'command' && (
          <>
            <Field ctx={ctx} path={`${P}/nodeId`} label={`Action ${n} node`}>
              {(aria) => (
                <select value={a.nodeId} onChange={(e) => set({ ...a, nodeId: e.target.value })} {...aria}>
                  {facts.site.nodes.map((nd) => (
                    <option key={nd.id} value={nd.id}>
                      {nd.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field ctx={ctx} path={`${P}/command`} label={`Action ${n} command`}>
              {(aria) => (
                <select
                  value={a.command}
                  onChange={(e) => set({ ...a, command: e.target.value as typeof a.command })}
                  {...aria}
                >
                  <option value="DIAGNOSTICS">DIAGNOSTICS</option>
                  <option value="RESTART">RESTART</option>
                  <option value="FETCH_LOGS">FETCH_LOGS</option>
                </select>
              )}
            </Field>
          </>
        )}
      </div>
      <FieldProblems
        problems={ctx.problems.filter((p) => p.path === P)}
        path={P}
        id={`${ctx.id}${P.replaceAll('/', '-')}-own`}
      />
      {remove && (
        <button type="button" onClick={remove}>
          Remove action {n}
        </button>
      )}
    </fieldset>
  );
}

function DryRunView({ result, facts }: { result: DryRunResult; facts: SiteFacts }) {
  const tz = facts.site.timezone;
  const fired = result.firings.filter((f) => f.outcome === 'fired').length;
  return (
    <section className="card" aria-labelledby="dry-title" data-testid="dry-run">
      <h2 id="dry-title">Dry run: the last 7 days</h2>
      <p data-testid="dry-run-summary">
        {siteDateTime(result.from, tz)} – {siteDateTime(result.to, tz)} (site time): {result.samples} stored
        samples replayed; it would have fired {fired} time{fired === 1 ? '' : 's'}
        {result.firings.length > fired ? `, and been held back ${result.firings.length - fired} time(s)` : ''}
        .
      </p>
      {result.notReplayed && <p className="warning">{result.notReplayed}</p>}
      {result.firings.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Would fire at (site time)</th>
                <th scope="col">Why</th>
                <th scope="col">Outcome</th>
                <th scope="col">Would switch</th>
              </tr>
            </thead>
            <tbody>
              {result.firings.map((f) => (
                <tr key={`${f.sourceKey}|${f.firedAt}`} data-testid="dry-firing" data-outcome={f.outcome}>
                  <td>{siteDateTime(f.firedAt, tz)}</td>
                  <td>{f.reason}</td>
                  <td>{f.outcome === 'fired' ? 'fires' : `held back: ${f.skippedBecause ?? ''}`}</td>
                  <td>
                    {f.switches.length
                      ? f.switches
                          .map((s) => `${channelLabel(s.channelId, facts.channels)} ${s.state}`)
                          .join(', ')
                      : f.actions.join('; ') || '–'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

interface Draft {
  name: string;
  description: string;
  enabled: boolean;
  trigger: RuleTrigger;
  conditions: RuleCondition[];
  actions: RuleAction[];
}

function RuleEditor({
  facts,
  rule,
  onSaved,
}: {
  facts: SiteFacts;
  rule: Rule | undefined;
  onSaved: (r: Rule) => void;
}) {
  const [d, setD] = useState<Draft>(() =>
    rule
      ? {
          name: rule.name,
          description: rule.description ?? '',
          enabled: rule.enabled,
          trigger: rule.trigger,
          conditions: rule.conditions,
          actions: rule.actions,
        }
      : {
          name: '',
          description: '',
          enabled: true,
          trigger: defaultTrigger('metric'),
          conditions: [],
          actions: [defaultAction('set_channel', facts)],
        },
  );
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState<'save' | 'dry' | undefined>();
  const [dry, setDry] = useState<DryRunResult>();
  const id = useId();
  const ctx: FieldCtx = { problems: problemsOf(error), id };
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setD((prev) => ({ ...prev, [k]: v }));
  const definition = (): RuleDefinition => ({
    trigger: d.trigger,
    conditions: d.conditions,
    actions: d.actions,
  });

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setBusy('save');
    const body: RuleBody = {
      name: d.name.trim(),
      ...(d.description.trim() ? { description: d.description.trim() } : {}),
      enabled: d.enabled,
      ...definition(),
    };
    try {
      onSaved(rule ? await rulesApi.update(rule.id, body) : await rulesApi.create(facts.site.id, body));
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(undefined);
    }
  };
  const dryRun = async () => {
    setError(undefined);
    setDry(undefined);
    setBusy('dry');
    try {
      setDry(await rulesApi.dryRun(facts.site.id, definition()));
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <>
      <form
        className="card auto-form"
        onSubmit={save}
        aria-label={rule ? `Edit rule ${rule.name}` : 'New rule'}
        noValidate
      >
        <h2>{rule ? 'Edit rule' : 'New rule'}</h2>
        <ProblemSummary error={error} />
        <div className="fields">
          <Field ctx={ctx} path="/body/name" label="Name">
            {(aria) => (
              <input value={d.name} maxLength={100} onChange={(e) => set('name', e.target.value)} {...aria} />
            )}
          </Field>
          <Field ctx={ctx} path="/body/description" label="Description">
            {(aria) => (
              <input
                value={d.description}
                maxLength={1000}
                onChange={(e) => set('description', e.target.value)}
                {...aria}
              />
            )}
          </Field>
        </div>
        <TriggerFields t={d.trigger} set={(t) => set('trigger', t)} facts={facts} ctx={ctx} />
        {d.conditions.map((c, i) => (
          <ConditionFields
            // biome-ignore lint/suspicious/noArrayIndexKey: conditions have no id; the index is their path
            key={i}
            c={c}
            i={i}
            facts={facts}
            ctx={ctx}
            set={(next) =>
              set(
                'conditions',
                d.conditions.map((x, j) => (j === i ? next : x)),
              )
            }
            remove={() =>
              set(
                'conditions',
                d.conditions.filter((_, j) => j !== i),
              )
            }
          />
        ))}
        <p>
          <button
            type="button"
            disabled={d.conditions.length >= 16}
            onClick={() => set('conditions', [...d.conditions, defaultCondition('time_window', facts)])}
          >
            Add condition
          </button>
        </p>
        {d.actions.map((a, i) => (
          <ActionFields
            // biome-ignore lint/suspicious/noArrayIndexKey: actions have no id; the index is their path
            key={i}
            a={a}
            i={i}
            facts={facts}
            ctx={ctx}
            set={(next) =>
              set(
                'actions',
                d.actions.map((x, j) => (j === i ? next : x)),
              )
            }
            {...(d.actions.length > 1
              ? {
                  remove: () =>
                    set(
                      'actions',
                      d.actions.filter((_, j) => j !== i),
                    ),
                }
              : {})}
          />
        ))}
        <p>
          <button
            type="button"
            disabled={d.actions.length >= 16}
            onClick={() => set('actions', [...d.actions, defaultAction('notify', facts)])}
          >
            Add action
          </button>
        </p>
        <label className="inline">
          <input type="checkbox" checked={d.enabled} onChange={(e) => set('enabled', e.target.checked)} />{' '}
          Enabled
        </label>
        <div className="actions">
          <button type="submit" className="primary" disabled={busy !== undefined}>
            {rule ? 'Save rule' : 'Create rule'}
          </button>
          <button type="button" disabled={busy !== undefined} onClick={() => void dryRun()}>
            {busy === 'dry' ? 'Replaying…' : 'Dry run (last 7 days)'}
          </button>
        </div>
      </form>
      {dry && <DryRunView result={dry} facts={facts} />}
    </>
  );
}

function RuleFacts({ r, facts }: { r: Rule; facts: SiteFacts }) {
  return (
    <section className="card" aria-labelledby="rule-facts">
      <h2 id="rule-facts">{r.name}</h2>
      {r.description && <p>{r.description}</p>}
      <dl className="facts" data-testid="rule-words">
        <dt>When</dt>
        <dd>{triggerText(r.trigger)}</dd>
        <dt>If</dt>
        <dd>
          {r.conditions.length
            ? r.conditions.map((c) => conditionText(c, facts.channels)).join('; ')
            : 'always'}
        </dd>
        <dt>Then</dt>
        <dd>{r.actions.map((a) => actionText(a, facts.channels, facts.scenes)).join('; ')}</dd>
        <dt>State</dt>
        <dd>
          {r.enabled ? 'enabled' : 'disabled'} · version {r.version}
          {r.suspendedAt ? ` · suspended: ${r.suspendedReason ?? ''}` : ''}
        </dd>
      </dl>
    </section>
  );
}

function Firings({ r, facts }: { r: Rule; facts: SiteFacts }) {
  const list = useAsync(() => rulesApi.firings(r.id, 50), [r.id]);
  const tz = facts.site.timezone;
  return (
    <section className="card" aria-labelledby="firings-title" data-testid="run-log">
      <div className="card-head">
        <h2 id="firings-title">Run log</h2>
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      </div>
      <ErrorNote error={list.error} />
      {list.data && list.data.items.length === 0 && <p className="muted">Never fired.</p>}
      {list.data && list.data.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Fired (site time)</th>
                <th scope="col">Why</th>
                <th scope="col">Outcome</th>
                <th scope="col">Did</th>
                <th scope="col">Version</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((f) => (
                <tr key={f.id}>
                  <td>{siteDateTime(f.firedAt, tz)}</td>
                  <td>{f.reason}</td>
                  <td>{f.outcome}</td>
                  <td>
                    {f.results
                      .map(
                        (x) =>
                          `${x.action}${x.state ? ` ${x.state}` : ''}${x.target && x.action === 'set_channel' ? ` ${channelLabel(x.target, facts.channels)}` : ''}: ${x.ok ? 'ok' : 'not done'}${x.detail ? ` (${x.detail})` : ''}`,
                      )
                      .join('; ')}
                  </td>
                  <td>v{f.ruleVersion}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function RulePage({ siteId, ruleId }: { siteId: string; ruleId: string }) {
  const facts = useSiteFacts(siteId);
  const isNew = ruleId === 'new';
  const rule = useAsync(() => (isNew ? Promise.resolve(undefined) : rulesApi.get(ruleId)), [ruleId]);
  const [removeError, setRemoveError] = useState<Error>();
  const error = facts.error ?? rule.error;
  if (error)
    return (
      <div>
        <h1 tabIndex={-1}>Rule</h1>
        <ErrorNote error={error} />
      </div>
    );
  if (!facts.data || (!isNew && !rule.data)) return <p className="muted">Loading…</p>;
  const r = rule.data;
  const { canEdit } = facts.data;
  return (
    <div className="automation">
      <h1 tabIndex={-1}>{r ? `Rule: ${r.name}` : 'New rule'}</h1>
      <AutomationCrumbs site={facts.data.site} here={r ? r.name : 'New rule'} />
      {!canEdit && <ReadOnlyNote reason={facts.data.reason} />}
      {r?.suspendedAt && (
        <p className="warning" data-testid="suspended">
          Suspended {siteDateTime(r.suspendedAt, facts.data.site.timezone)}: {r.suspendedReason}. Saving the
          rule lifts the suspension.
        </p>
      )}
      {canEdit ? (
        <RuleEditor
          key={r ? `${r.id}@${r.version}` : 'new'}
          facts={facts.data}
          rule={r}
          onSaved={(saved) => {
            if (isNew) navigate(`/sites/${siteId}/automation/rules/${saved.id}`, true);
            else rule.reload();
          }}
        />
      ) : (
        r && <RuleFacts r={r} facts={facts.data} />
      )}
      {r && <Firings r={r} facts={facts.data} />}
      {r && canEdit && (
        <div className="actions">
          <button
            type="button"
            onClick={async () => {
              try {
                await rulesApi.remove(r.id);
                navigate(`/sites/${siteId}/automation`);
              } catch (err) {
                setRemoveError(err as Error);
              }
            }}
          >
            Delete rule
          </button>
          <ErrorNote error={removeError} />
        </div>
      )}
    </div>
  );
}
