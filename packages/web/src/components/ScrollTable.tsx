import type { ReactNode } from 'react';

/**
 * A data table's wrapper (.table-wrap: cards on a phone). Wider than its column it scrolls
 * sideways, so it is a named region that takes keyboard focus: without focus, keyboard users
 * could not scroll it (axe-core scrollable-region-focusable).
 */
export function ScrollTable({ label, children }: { label: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard to be scrolled
    <section className="table-wrap" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}
