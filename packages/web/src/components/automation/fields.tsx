// Small inputs the automation editors share: a list of local dates, and a time that is either a
// wall time at the site or the site's sunrise / sunset with an offset.
import { useId, useState } from 'react';
import type { TimeSpec } from '../../api/automation.ts';
import type { ApiProblem } from '../../api/http.ts';
import { FieldProblems, invalidProps } from './common.tsx';

export function DateList({
  label,
  dates,
  onChange,
  problems,
  path,
}: {
  label: string;
  dates: string[];
  onChange: (dates: string[]) => void;
  problems: readonly ApiProblem[];
  path: string;
}) {
  const [draft, setDraft] = useState('');
  const id = useId();
  const add = () => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(draft) || dates.includes(draft)) return;
    onChange([...dates, draft].sort());
    setDraft('');
  };
  return (
    <fieldset className="date-list" {...invalidProps(problems, path, `${id}-p`)}>
      <legend>{label}</legend>
      <div className="inline-fields">
        <input
          type="date"
          aria-label={`${label}: date to add`}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
        />
        <button type="button" onClick={add} disabled={!draft}>
          Add date
        </button>
      </div>
      {dates.length > 0 && (
        <ul className="chips">
          {dates.map((d) => (
            <li key={d}>
              {d}{' '}
              <button
                type="button"
                className="link"
                aria-label={`Remove ${d} from ${label}`}
                onClick={() => onChange(dates.filter((x) => x !== d))}
              >
                remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <FieldProblems problems={problems} path={path} id={`${id}-p`} />
    </fieldset>
  );
}

type Kind = 'at' | 'sunrise' | 'sunset' | 'none';

export function TimeSpecInput({
  label,
  value,
  onChange,
  optional,
  problems,
  path,
  hasCoordinates,
}: {
  label: string;
  value: TimeSpec | null;
  onChange: (t: TimeSpec | null) => void;
  optional?: boolean;
  problems: readonly ApiProblem[];
  path: string;
  hasCoordinates: boolean;
}) {
  const id = useId();
  const kind: Kind = !value ? 'none' : 'at' in value ? 'at' : value.sun;
  const setKind = (k: Kind) => {
    if (k === 'none') onChange(null);
    else if (k === 'at') onChange({ at: value && 'at' in value ? value.at : '07:00' });
    else onChange({ sun: k, offsetMin: value && 'sun' in value ? value.offsetMin : 0 });
  };
  return (
    <fieldset className="time-spec" {...invalidProps(problems, path, `${id}-p`)}>
      <legend>{label}</legend>
      <div className="inline-fields">
        <label>
          {label} at
          <select value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
            {optional && <option value="none">No end (switch once)</option>}
            <option value="at">Time of day</option>
            <option value="sunrise">Sunrise</option>
            <option value="sunset">Sunset</option>
          </select>
        </label>
        {value && 'at' in value && (
          <label>
            {label} time
            <input type="time" value={value.at} required onChange={(e) => onChange({ at: e.target.value })} />
          </label>
        )}
        {value && 'sun' in value && (
          <label>
            {label} offset (min, − before)
            <input
              type="number"
              min={-720}
              max={720}
              step={1}
              value={value.offsetMin}
              onChange={(e) => onChange({ sun: value.sun, offsetMin: Math.trunc(Number(e.target.value)) })}
            />
          </label>
        )}
      </div>
      {value && 'sun' in value && !hasCoordinates && (
        <p className="muted">This site has no coordinates: the hub cannot compute its sunrise or sunset.</p>
      )}
      <FieldProblems problems={problems} path={path} id={`${id}-p`} />
    </fieldset>
  );
}
