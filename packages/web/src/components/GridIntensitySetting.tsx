// A site's grid carbon intensity (g CO₂/kWh), the one number behind "CO₂ avoided". The hub is the
// validator of the range (0–2000, or empty to clear): the form sends the number typed and shows
// the hub's refusal beside the field (lib/errors.ts fieldProblem), ErrorNote's sentence beneath.
// Only text that is not a number at all is stopped here.
import { type FormEvent, useEffect, useState } from 'react';
import { type Site, sitesApi } from '../api/sites.ts';
import { fieldProblem } from '../lib/errors.ts';
import { ErrorNote } from './ErrorNote.tsx';

const FIELD = 'gridIntensityGPerKwh';

export function GridIntensitySetting({
  site,
  canEdit,
  onSaved,
}: {
  site: Pick<Site, 'id' | 'grid_intensity_g_per_kwh'>;
  canEdit: boolean;
  onSaved: (site: Site) => void;
}) {
  const current = site.grid_intensity_g_per_kwh;
  const [text, setText] = useState(current === null ? '' : String(current));
  const [error, setError] = useState<Error>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const [localProblem, setLocalProblem] = useState('');
  useEffect(() => setText(current === null ? '' : String(current)), [current]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setSaved(false);
    const typed = text.trim();
    const value = typed === '' ? null : Number(typed);
    if (value !== null && !Number.isFinite(value)) {
      setLocalProblem('Enter a number, for example 400.');
      return;
    }
    setLocalProblem('');
    setBusy(true);
    // The range is the hub's to check: what it refuses is shown beside the field.
    try {
      const updated = await sitesApi.patch(site.id, { [FIELD]: value });
      setSaved(true);
      onSaved(updated);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const problem = localProblem || fieldProblem(error, FIELD);
  if (!canEdit) {
    return (
      <p data-testid="grid-intensity">
        Grid CO₂ intensity: {current === null ? 'not set' : `${current} g CO₂/kWh`}
      </p>
    );
  }
  return (
    <form className="grid-intensity" onSubmit={submit} noValidate data-testid="grid-intensity">
      <label htmlFor="grid-intensity-input">Grid CO₂ intensity (g CO₂/kWh)</label>
      <div className="inline-field">
        <input
          id="grid-intensity-input"
          inputMode="decimal"
          value={text}
          placeholder="e.g. 400"
          onChange={(e) => {
            setText(e.target.value);
            setSaved(false);
            setLocalProblem('');
          }}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? 'grid-intensity-problem' : 'grid-intensity-help'}
        />
        <button type="submit" disabled={busy}>
          Save
        </button>
      </div>
      {problem ? (
        <p id="grid-intensity-problem" className="field-problem" data-testid="grid-intensity-problem">
          {problem}
        </p>
      ) : (
        <p id="grid-intensity-help" className="muted">
          Your electricity supplier or grid operator publishes it (typically 20–900). Leave empty to clear;
          without it no CO₂ figure is shown.
        </p>
      )}
      {saved && (
        <p className="ok" role="status">
          Saved.
        </p>
      )}
      <ErrorNote error={error} />
    </form>
  );
}
