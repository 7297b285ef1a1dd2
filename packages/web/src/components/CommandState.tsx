import { type Command, TERMINAL_STATES } from '../api/commands.ts';

/** The states a command went through, as the hub recorded them: "pending → delivered → …". */
export function historyPath(command: Command): string | undefined {
  const history = command.history ?? [];
  if (history.length === 0) return undefined;
  const first = history[0]!;
  return [...(first.from ? [first.from] : []), ...history.map((t) => t.to)].join(' → ');
}

/** A command's live state as a badge (its history as the tooltip), with its error when it failed. */
export function CommandState({ command }: { command: Command }) {
  return (
    <span
      data-testid="command-state"
      data-state={command.state}
      aria-live="polite"
      title={historyPath(command)}
    >
      <span className={`state state-${command.state}`}>
        {command.type} {command.state}
        {TERMINAL_STATES.includes(command.state) ? '' : '…'}
      </span>
      {command.error && <span className="error"> {command.error}</span>}
    </span>
  );
}
