import { type Command, TERMINAL_STATES } from '../api/commands.ts';

/** A command's live state as a badge, with its error when it failed. */
export function CommandState({ command }: { command: Command }) {
  return (
    <span data-testid="command-state" data-state={command.state} aria-live="polite">
      <span className={`state state-${command.state}`}>
        {command.type} {command.state}
        {TERMINAL_STATES.includes(command.state) ? '' : '…'}
      </span>
      {command.error && <span className="error"> {command.error}</span>}
    </span>
  );
}
