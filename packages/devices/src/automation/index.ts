// Automation logic the hub and the agent share (issue 13.7): when a schedule switches, in the
// site's zone, and the per-channel safety limits. Pure code: no clock, no database.
export * from './occurrences.ts';
export * from './safety.ts';
