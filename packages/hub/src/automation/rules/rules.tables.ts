// Kysely types of the rule tables (migration 066).
import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { RuleDefinition } from './rules.schema.ts';

type Stamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface ActionResultValue {
  action: string;
  target: string | null;
  state?: 'on' | 'off';
  ok: boolean;
  detail: string | null;
}

export interface RulesTable {
  id: Generated<string>;
  site_id: string;
  name: string;
  description: string | null;
  enabled: Generated<boolean>;
  version: Generated<number>;
  definition: JSONColumnType<RuleDefinition, string, string>;
  suspended_at: Date | null;
  suspended_reason: string | null;
  created_by: string | null;
  created_at: Stamp;
  updated_at: Stamp;
}

export interface RuleFiringsTable {
  id: Generated<string>;
  rule_id: string;
  site_id: string;
  rule_version: number;
  source_key: string;
  crossing_at: Date | string;
  fired_at: Date | string;
  reason: string;
  outcome: 'fired' | 'skipped' | 'suspended';
  results: JSONColumnType<ActionResultValue[], string, string>;
  created_at: Stamp;
}

declare module '../../storage/schema.ts' {
  interface DB {
    rules: RulesTable;
    rule_firings: RuleFiringsTable;
  }
}
