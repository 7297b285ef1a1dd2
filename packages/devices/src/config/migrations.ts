// Config files carry a version and are migrated forward, one step at a time, before validation,
// so a node that skipped several releases still starts with the config it already has.

type Doc = Record<string, unknown>;

export interface ConfigMigration {
  from: number;
  to: number;
  describe: string;
  up(doc: Doc): Doc;
}

export const CONFIG_MIGRATIONS: readonly ConfigMigration[] = [
  {
    from: 1,
    to: 2,
    describe: 'v1 had a flat `hubUrl` and `dashboardPort`; v2 groups them under `hub` and `dashboard`',
    up(doc) {
      const { hubUrl, dashboardPort, ...rest } = doc;
      const next: Doc = { ...rest, version: 2 };
      if (hubUrl !== undefined) next.hub = { ...(doc.hub as Doc | undefined), url: hubUrl };
      if (dashboardPort !== undefined)
        next.dashboard = { ...(doc.dashboard as Doc | undefined), port: dashboardPort };
      return next;
    },
  },
];

/** Applies every migration from the document's version up to `target`; returns the steps taken. */
export function migrateConfig(doc: Doc, target: number): { doc: Doc; applied: string[] } {
  const applied: string[] = [];
  let current = doc;
  // A missing version means the oldest format: files written before versioning existed.
  let version = typeof current.version === 'number' ? current.version : 1;
  if (current.version === undefined) current = { ...current, version };
  while (version < target) {
    const step = CONFIG_MIGRATIONS.find((m) => m.from === version);
    if (!step) break; // validation then reports the unsupported version
    current = step.up(current);
    applied.push(`v${step.from}→v${step.to}: ${step.describe}`);
    version = step.to;
  }
  return { doc: current, applied };
}
