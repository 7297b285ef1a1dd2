// One scene: the state it sets on each of the site's channels (editor for those who may edit,
// the list for everybody else), activation as one operation with a result per target (pending
// until the node confirms; partial failure is shown per channel), and its recent activations.
import { type FormEvent, useEffect, useId, useState } from 'react';
import { type Activation, type Scene, type SceneTarget, scenesApi } from '../../api/automation.ts';
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
import { channelLabel, channelName, problemsOf, siteDateTime } from '../../lib/automation.ts';
import { useAsync } from '../../lib/use-async.ts';
import { navigate } from '../../router.tsx';

type Choice = 'keep' | 'on' | 'off';

function SceneEditor({
  facts,
  scene,
  onSaved,
}: {
  facts: SiteFacts;
  scene: Scene | undefined;
  onSaved: (s: Scene) => void;
}) {
  const switchable = facts.channels.filter((c) => c.capabilities.switch);
  const [name, setName] = useState(scene?.name ?? '');
  const [description, setDescription] = useState(scene?.description ?? '');
  const [ttlS, setTtlS] = useState(scene?.ttlS ?? 600);
  const [choice, setChoice] = useState<Record<string, Choice>>(() =>
    Object.fromEntries(scene?.targets.map((t) => [t.channelId, t.state]) ?? []),
  );
  const [error, setError] = useState<Error>();
  const [saving, setSaving] = useState(false);
  const id = useId();
  const problems = problemsOf(error);
  const targets: SceneTarget[] = switchable
    .filter((c) => (choice[c.id] ?? 'keep') !== 'keep')
    .map((c) => ({ channelId: c.id, state: choice[c.id] as 'on' | 'off' }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setSaving(true);
    const body = {
      name: name.trim(),
      ...(description.trim() ? { description: description.trim() } : {}),
      ttlS,
      targets,
    };
    try {
      onSaved(scene ? await scenesApi.update(scene.id, body) : await scenesApi.create(facts.site.id, body));
    } catch (err) {
      setError(err as Error);
    } finally {
      setSaving(false);
    }
  };
  const pid = (path: string) => `${id}${path.replaceAll('/', '-')}`;
  return (
    <form
      className="card auto-form"
      onSubmit={submit}
      aria-label={scene ? `Edit scene ${scene.name}` : 'New scene'}
      noValidate
    >
      <h2>{scene ? 'Edit scene' : 'New scene'}</h2>
      <ProblemSummary error={error} />
      <div className="fields">
        <label>
          Name
          <input
            value={name}
            maxLength={100}
            onChange={(e) => setName(e.target.value)}
            {...invalidProps(problems, '/body/name', pid('/body/name'))}
          />
          <FieldProblems problems={problems} path="/body/name" id={pid('/body/name')} />
        </label>
        <label>
          Description
          <input value={description} maxLength={1000} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <label>
          Wait for offline nodes (s)
          <input
            type="number"
            min={10}
            max={86_400}
            value={ttlS}
            onChange={(e) => setTtlS(Math.trunc(Number(e.target.value)))}
            {...invalidProps(problems, '/body/ttlS', pid('/body/ttlS'))}
          />
          <FieldProblems problems={problems} path="/body/ttlS" id={pid('/body/ttlS')} />
        </label>
      </div>
      <fieldset className="scene-targets">
        <legend>Channel states</legend>
        {switchable.length === 0 && <p className="muted">This site has no switchable channel.</p>}
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Channel</th>
                <th scope="col">Node</th>
                <th scope="col">In this scene</th>
              </tr>
            </thead>
            <tbody>
              {switchable.map((c) => {
                const i = targets.findIndex((t) => t.channelId === c.id);
                const path = `/body/targets/${i}`;
                return (
                  <tr key={c.id} data-channel={`${c.equipment}/${c.channel}`}>
                    <td>{channelName(c)}</td>
                    <td>{c.nodeName}</td>
                    <td>
                      <select
                        aria-label={`${channelName(c)} in this scene`}
                        value={choice[c.id] ?? 'keep'}
                        onChange={(e) => setChoice((prev) => ({ ...prev, [c.id]: e.target.value as Choice }))}
                      >
                        <option value="keep">Leave as is</option>
                        <option value="on">On</option>
                        <option value="off">Off</option>
                      </select>
                      {i >= 0 && <FieldProblems problems={problems} path={path} id={pid(path)} />}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <FieldProblems
          problems={problems.filter((p) => p.path === '/body/targets')}
          path="/body/targets"
          id={pid('/body/targets')}
        />
      </fieldset>
      <div className="actions">
        <button type="submit" className="primary" disabled={saving}>
          {scene ? 'Save scene' : 'Create scene'}
        </button>
        <span className="muted">
          {targets.length} channel{targets.length === 1 ? '' : 's'} set
        </span>
      </div>
    </form>
  );
}

const OUTCOME_CLASS: Record<string, string> = {
  confirmed: 'state state-succeeded',
  unchanged: 'state state-succeeded',
  pending: 'state state-pending',
  failed: 'state state-failed',
  refused: 'state state-failed',
};

function ActivationView({ a, facts }: { a: Activation; facts: SiteFacts }) {
  return (
    <div data-testid="activation" data-status={a.status}>
      <p>
        <strong>
          {a.status === 'pending'
            ? 'Waiting for the devices…'
            : a.status === 'succeeded'
              ? 'Every channel is set.'
              : a.status === 'partial'
                ? 'Partly done: some channels failed.'
                : 'Nothing was set.'}
        </strong>{' '}
        <span className="muted">
          {siteDateTime(a.createdAt, facts.site.timezone)} by {a.activatedBy} · version {a.sceneVersion}
        </span>
      </p>
      <ul className="targets">
        {a.targets.map((t) => (
          <li key={t.channelId} data-target={t.channelId} data-outcome={t.outcome}>
            {channelLabel(t.channelId, facts.channels)} → {t.state}:{' '}
            <span className={OUTCOME_CLASS[t.outcome] ?? 'state'}>{t.outcome}</span>
            {t.reason ? <span className="muted"> {t.reason}</span> : null}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Activate({ scene, facts }: { scene: Scene; facts: SiteFacts }) {
  const [current, setCurrent] = useState<Activation>();
  const [error, setError] = useState<Error>();
  // Follow the activation until every target has settled (the node confirmed, failed or expired).
  useEffect(() => {
    if (current?.status !== 'pending') return;
    const timer = setTimeout(async () => {
      try {
        setCurrent(await scenesApi.activation(current.id));
      } catch (err) {
        setError(err as Error);
      }
    }, 1000);
    return () => clearTimeout(timer);
  }, [current]);
  return (
    <section className="card" aria-labelledby="activate-title">
      <div className="card-head">
        <h2 id="activate-title">Activate</h2>
        <button
          type="button"
          className="primary"
          onClick={async () => {
            setError(undefined);
            try {
              setCurrent(await scenesApi.activate(scene.id));
            } catch (err) {
              setError(err as Error);
            }
          }}
        >
          Activate scene
        </button>
      </div>
      <ErrorNote error={error} />
      {current && <ActivationView a={current} facts={facts} />}
    </section>
  );
}

function History({ scene, facts }: { scene: Scene; facts: SiteFacts }) {
  const list = useAsync(() => scenesApi.activations(scene.id, 10), [scene.id]);
  return (
    <section className="card" aria-labelledby="activations-title">
      <div className="card-head">
        <h2 id="activations-title">Recent activations</h2>
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      </div>
      <ErrorNote error={list.error} />
      {list.data && list.data.items.length === 0 && <p className="muted">Never activated.</p>}
      {list.data?.items.map((a) => (
        <ActivationView key={a.id} a={a} facts={facts} />
      ))}
    </section>
  );
}

export function ScenePage({ siteId, sceneId }: { siteId: string; sceneId: string }) {
  const facts = useSiteFacts(siteId);
  const isNew = sceneId === 'new';
  const scene = useAsync(() => (isNew ? Promise.resolve(undefined) : scenesApi.get(sceneId)), [sceneId]);
  const [removeError, setRemoveError] = useState<Error>();
  const error = facts.error ?? scene.error;
  if (error)
    return (
      <div>
        <h1 tabIndex={-1}>Scene</h1>
        <ErrorNote error={error} />
      </div>
    );
  if (!facts.data || (!isNew && !scene.data)) return <p className="muted">Loading…</p>;
  const s = scene.data;
  const { canEdit } = facts.data;
  return (
    <div className="automation">
      <h1 tabIndex={-1}>{s ? `Scene: ${s.name}` : 'New scene'}</h1>
      <AutomationCrumbs site={facts.data.site} here={s ? s.name : 'New scene'} />
      {!canEdit && <ReadOnlyNote reason={facts.data.reason} />}
      {canEdit ? (
        <SceneEditor
          key={s ? `${s.id}@${s.version}` : 'new'}
          facts={facts.data}
          scene={s}
          onSaved={(saved) => {
            if (isNew) navigate(`/sites/${siteId}/automation/scenes/${saved.id}`, true);
            else scene.reload();
          }}
        />
      ) : (
        s && (
          <section className="card" aria-labelledby="scene-facts">
            <h2 id="scene-facts">Sets</h2>
            {s.description && <p>{s.description}</p>}
            <ul data-testid="scene-targets">
              {s.targets.map((t) => (
                <li key={t.channelId}>
                  {channelLabel(t.channelId, facts.data!.channels)} → {t.state}
                </li>
              ))}
            </ul>
            <p className="muted">
              Version {s.version} · waits {s.ttlS} s for offline nodes
            </p>
          </section>
        )
      )}
      {s && canEdit && <Activate scene={s} facts={facts.data} />}
      {s && <History scene={s} facts={facts.data} />}
      {s && canEdit && (
        <div className="actions">
          <button
            type="button"
            onClick={async () => {
              try {
                await scenesApi.remove(s.id);
                navigate(`/sites/${siteId}/automation`);
              } catch (err) {
                setRemoveError(err as Error);
              }
            }}
          >
            Delete scene
          </button>
          <ErrorNote error={removeError} />
        </div>
      )}
    </div>
  );
}
