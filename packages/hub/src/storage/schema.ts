// Table types for Kysely. Kept by hand next to the migrations; the storage tests run every
// query against real PostgreSQL and PGlite, which is what catches a drift between the two.
import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface OrgsTable {
  id: Generated<string>;
  name: string;
  kind: 'operator' | 'installer' | 'household';
  created_at: CreatedAt;
}

export interface SitesTable {
  id: Generated<string>;
  org_id: string;
  installer_org_id: string | null;
  name: string;
  timezone: string;
  latitude: number | null;
  longitude: number | null;
  system_kw: number | null;
  /** g CO₂ per kWh of grid electricity; null = not set (no CO₂ figures). */
  grid_intensity_g_per_kwh: number | null;
  status: Generated<'commissioning' | 'active' | 'decommissioned'>;
  created_at: CreatedAt;
}

export interface NodesTable {
  id: Generated<string>;
  site_id: string;
  name: string;
  kind: Generated<'agent' | 'plug' | 'virtual'>;
  public_key: string | null;
  mqtt_password_hash: string | null;
  active: Generated<boolean>;
  created_at: CreatedAt;
  deactivated_at: Timestamp | null;
  credentials_rotated_at: Timestamp | null;
  /** Seconds between reads, as the node reported it; null = not reported. */
  sample_interval_s: number | null;
  status: Generated<'unknown' | 'online' | 'offline'>;
  status_reason: string | null;
  status_changed_at: Timestamp | null;
  last_seen_at: Timestamp | null;
  /** Last heartbeat over MQTT (status topic); null after its offline status or last will. */
  mqtt_seen_at: Timestamp | null;
  clock_offset_ms: number | null;
  /** Last signed request refused because the node's clock was outside the window, and by how much. */
  clock_skew_at: Timestamp | null;
  clock_skew_ms: number | null;
  agent_version: string | null;
  git_commit: string | null;
  os_version: string | null;
  last_status: JSONColumnType<Record<string, unknown>> | null;
}

export interface EnrollmentCodesTable {
  code_hash: string;
  site_id: string;
  node_name: string | null;
  created_by: string | null;
  created_at: CreatedAt;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  node_id: string | null;
  revoked_at: Timestamp | null;
  revoked_by: string | null;
}

export interface EquipmentTable {
  id: Generated<string>;
  node_id: string;
  key: string;
  kind: 'inverter' | 'meter' | 'ct' | 'battery' | 'relay' | 'plug' | 'sensor' | 'ev_charger';
  vendor: string | null;
  model: string | null;
  serial: string | null;
  created_at: CreatedAt;
  /** Registry (migration 040): what the agent's equipment inventory said last. */
  firmware: string | null;
  label: string | null;
  source_type: string | null;
  metrics: ColumnType<string[], string | undefined, string>;
  present: Generated<boolean>;
  inventory_at: NullableTimestamp;
  area_id: string | null;
  line_id: string | null;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface SeriesTable {
  id: Generated<number>;
  node_id: string;
  site_id: string;
  equipment: Generated<string>;
  metric: string;
  kind: 'power' | 'energy' | 'gauge' | 'state';
  created_at: CreatedAt;
  /** The equipment row of (node_id, equipment), once the node has registered it. */
  equipment_id: Generated<string | null>;
}

export interface SamplesTable {
  series_id: number;
  ts: Timestamp;
  value: number;
}

interface RollupColumns {
  series_id: number;
  bucket: Timestamp;
  count: number;
  sum: number;
  /** min … last_ts are null in a bucket that only an interval spans (count 0, energy only). */
  min: number | null;
  max: number | null;
  first: number | null;
  last: number | null;
  first_ts: NullableTimestamp;
  last_ts: NullableTimestamp;
  energy_wh: number | null;
  resets: Generated<number>;
}
export type RollupHourlyTable = RollupColumns;
export interface RollupDailyTable extends RollupColumns {
  day: ColumnType<string, string, string>;
  hours: number;
}

export interface RollupDirtyTable {
  series_id: number;
  resolution: 'hour' | 'day';
  bucket: Timestamp;
  generation: Generated<number>;
  marked_at: CreatedAt;
}

export interface IngestBatchesTable {
  node_id: string;
  batch_id: string;
  kind: 'telemetry' | 'daily' | 'events';
  item_count: number;
  received_at: CreatedAt;
}

export interface RequestNoncesTable {
  node_id: string;
  nonce: string;
  expires_at: Timestamp;
}

export interface NodeEventsTable {
  id: Generated<number>;
  node_id: string;
  site_id: string;
  ts: Timestamp;
  kind: string;
  severity: 'info' | 'warning' | 'error' | 'critical';
  equipment: string | null;
  message: string;
  data: JSONColumnType<Record<string, unknown>> | null;
  batch_id: string;
  received_at: CreatedAt;
}

export interface DailyReportsTable {
  node_id: string;
  site_id: string;
  equipment: Generated<string>;
  day: ColumnType<string, string, string>;
  values: JSONColumnType<Record<string, number>>;
  batch_id: string;
  received_at: CreatedAt;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: CreatedAt;
  actor_type: 'user' | 'node' | 'system' | 'token' | 'anonymous';
  actor_id: string | null;
  org_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  result: 'ok' | 'denied' | 'failed';
  source_ip: string | null;
  details: JSONColumnType<Record<string, unknown>> | null;
}

export interface DB {
  orgs: OrgsTable;
  sites: SitesTable;
  nodes: NodesTable;
  enrollment_codes: EnrollmentCodesTable;
  equipment: EquipmentTable;
  series: SeriesTable;
  samples: SamplesTable;
  rollup_hourly: RollupHourlyTable;
  rollup_daily: RollupDailyTable;
  rollup_dirty: RollupDirtyTable;
  ingest_batches: IngestBatchesTable;
  request_nonces: RequestNoncesTable;
  node_events: NodeEventsTable;
  daily_reports: DailyReportsTable;
  audit_log: AuditLogTable;
}
