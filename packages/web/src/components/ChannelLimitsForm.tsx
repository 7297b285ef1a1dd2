// A channel's switching safety limits (minimum on and off times, maximum switches per hour): shown
// to everyone who sees the channel, edited by its installer or an administrator. The hub enforces
// them whatever asks for a switch (manual, schedule, scene, rule, the edge's own bundle) and says
// what is wrong with a value; the form shows that answer beside the field.
import { type FormEvent, useId, useState } from 'react';
import { type Channel, type ChannelLimits, equipmentApi } from '../api/equipment.ts';
import { ErrorNote } from './ErrorNote.tsx';

function duration(s: number): string {
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

export function limitsText(l: ChannelLimits | undefined): string {
  if (!l) return '–';
  const parts = [
    l.minOnS ? `on at least ${duration(l.minOnS)}` : '',
    l.minOffS ? `off at least ${duration(l.minOffS)}` : '',
    l.maxSwitchesPerHour ? `at most ${l.maxSwitchesPerHour} switches an hour` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(' · ') : 'No limits';
}

export function ChannelLimitsForm({
  channel,
  name,
  onSaved,
  onCancel,
}: {
  channel: Channel;
  name: string;
  onSaved: (c: Channel) => void;
  onCancel: () => void;
}) {
  const id = useId();
  const [minOn, setMinOn] = useState(String(channel.limits?.minOnS ?? 0));
  const [minOff, setMinOff] = useState(String(channel.limits?.minOffS ?? 0));
  const [perHour, setPerHour] = useState(
    channel.limits?.maxSwitchesPerHour ? String(channel.limits.maxSwitchesPerHour) : '',
  );
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      onSaved(
        await equipmentApi.setLimits(channel.id, {
          minOnS: Number(minOn || 0),
          minOffS: Number(minOff || 0),
          maxSwitchesPerHour: perHour.trim() === '' ? null : Number(perHour),
        }),
      );
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card dialog" aria-label={`Safety limits of ${name}`} onSubmit={save} noValidate>
      <h3>Safety limits of {name}</h3>
      <p className="muted">
        Held whatever asks for the switch: a person, a schedule, a scene or a rule. A switch that would break
        them is refused and says when it becomes possible.
      </p>
      <div className="fields">
        <label htmlFor={`${id}-on`}>Minimum on time (seconds, 0 = none)</label>
        <input
          id={`${id}-on`}
          type="number"
          inputMode="numeric"
          min={0}
          max={86400}
          value={minOn}
          onChange={(e) => setMinOn(e.target.value)}
        />
        <label htmlFor={`${id}-off`}>Minimum off time (seconds, 0 = none)</label>
        <input
          id={`${id}-off`}
          type="number"
          inputMode="numeric"
          min={0}
          max={86400}
          value={minOff}
          onChange={(e) => setMinOff(e.target.value)}
        />
        <label htmlFor={`${id}-hour`}>Most switches in any hour (empty = no limit)</label>
        <input
          id={`${id}-hour`}
          type="number"
          inputMode="numeric"
          min={1}
          max={3600}
          value={perHour}
          onChange={(e) => setPerHour(e.target.value)}
        />
      </div>
      <ErrorNote error={error} />
      <div className="actions">
        <button type="submit" disabled={busy}>
          Save limits
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
