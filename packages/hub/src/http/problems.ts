import type { Problem } from '@wattfleet/protocol';

/** A union mismatch yields one error per branch at the same path; answer one line per path. */
export function dedupeProblems(problems: Problem[]): Problem[] {
  const byPath = new Map<string, Problem>();
  for (const p of problems) {
    const prev = byPath.get(p.path);
    if (!prev) byPath.set(p.path, { ...p });
    else if (!prev.message.includes(p.message)) prev.message = `${prev.message}; ${p.message}`;
  }
  return [...byPath.values()];
}
