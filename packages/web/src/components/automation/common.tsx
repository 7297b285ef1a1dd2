// Shared by the automation pages: the site's facts they all need (zone, nodes, channels and the
// hub's answer to "may this user change automation here"), and the validation display: a summary
// of every problem the hub listed (the sentence from lib/errors.ts, then each field by name) and
// the same problems again beside their fields.
import type { Scene } from '../../api/automation.ts';
import { scenesApi } from '../../api/automation.ts';
import { type Channel, equipmentApi } from '../../api/equipment.ts';
import { ApiError, type ApiProblem } from '../../api/http.ts';
import { type SiteDetail, sitesApi } from '../../api/sites.ts';
import { fieldLabel, problemsAt } from '../../lib/automation.ts';
import { humanError } from '../../lib/errors.ts';
import { zoneLabel } from '../../lib/site-time.ts';
import { useAsync } from '../../lib/use-async.ts';
import { Link } from '../../router.tsx';
import { ErrorNote } from '../ErrorNote.tsx';

export interface SiteFacts {
  site: SiteDetail;
  channels: Channel[];
  scenes: Scene[];
  /** The hub's permission (the same as for a manual switch): editors see edit controls. */
  canEdit: boolean;
  reason: string | undefined;
}

export function useSiteFacts(siteId: string) {
  return useAsync<SiteFacts>(
    async (signal) => {
      const [site, channels, scenes] = await Promise.all([
        sitesApi.get(siteId, signal),
        equipmentApi.list(siteId),
        scenesApi.list(siteId, signal),
      ]);
      return {
        site,
        channels: channels.items,
        scenes: scenes.items,
        canEdit: channels.control.canSwitch,
        reason: channels.control.reason,
      };
    },
    [siteId],
  );
}

/** Heading line of every automation page: back to the site's automation, and the site's zone. */
export function AutomationCrumbs({ site, here }: { site: SiteDetail; here?: string }) {
  return (
    <p className="muted crumbs">
      <Link href={`/sites/${site.id}`}>{site.name}</Link>
      {' › '}
      {here ? <Link href={`/sites/${site.id}/automation`}>Automation</Link> : 'Automation'}
      {here ? ` › ${here}` : ''}
      {' · '}
      <span data-testid="site-zone">Times in {zoneLabel(site.timezone, Date.now())}</span>
    </p>
  );
}

export function ReadOnlyNote({ reason }: { reason: string | undefined }) {
  return (
    <p className="muted" data-testid="read-only-note">
      Read only{reason ? `: ${reason}` : ''}.
    </p>
  );
}

/** Every problem of a refused save at once, each named by its field. */
export function ProblemSummary({ error }: { error: Error | undefined }) {
  if (!error) return null;
  const problems = error instanceof ApiError ? error.problems : [];
  if (problems.length === 0) return <ErrorNote error={error} />;
  const { code, text } = humanError(error);
  return (
    <div role="alert" className="error problem-summary" data-code={code}>
      <p>{text}</p>
      <ul data-testid="problem-summary">
        {problems.map((p) => (
          <li key={`${p.path}|${p.message}`} data-path={p.path}>
            <strong>{fieldLabel(p.path)}:</strong> {p.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** The problems of one field, shown right under it; `id` is what the input's aria-describedby names. */
export function FieldProblems({
  problems,
  path,
  id,
}: {
  problems: readonly ApiProblem[];
  path: string;
  id: string;
}) {
  const mine = problemsAt(problems, path);
  if (mine.length === 0) return null;
  return (
    <span className="field-problem" id={id} data-testid="field-problem" data-path={path}>
      {mine.map((p) => p.message).join('; ')}
    </span>
  );
}

/** aria attributes for an input that may have problems at `path`. */
export function invalidProps(problems: readonly ApiProblem[], path: string, id: string) {
  return problemsAt(problems, path).length > 0
    ? { 'aria-invalid': true as const, 'aria-describedby': id }
    : {};
}
