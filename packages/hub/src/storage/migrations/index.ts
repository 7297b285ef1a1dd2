// Ordered migrations. Ranges keep parallel work apart: 001–009 spine, 010–019 identity,
// 020–029 control plane, 030–049 analytics and alerts. Names sort in apply order.
import type { Migration } from 'kysely';
import * as m001 from './001_spine.ts';
import * as m002 from './002_enrollment_revocation.ts';
import * as m003 from './003_ingest_batch_kind.ts';
import * as m004 from './004_node_mqtt_session.ts';
import * as m010 from './010_identity.ts';
import * as m011 from './011_row_level_security.ts';
import * as m012 from './012_rls_helper.ts';
import * as m013 from './013_org_scoped_admins.ts';
import * as m014 from './014_login_throttle.ts';
import * as m020 from './020_control_plane.ts';
import * as m021 from './021_control_plane_rls.ts';
import * as m022 from './022_node_poll_interval.ts';
import * as m030 from './030_analytics.ts';
import * as m031 from './031_alerts.ts';
import * as m032 from './032_notifications.ts';
import * as m033 from './033_analytics_alerts_rls.ts';
import * as m034 from './034_rollup_gap_buckets.ts';
import * as m036 from './036_clock_skew.ts';
import * as m037 from './037_site_grid_intensity.ts';
import * as m040 from './040_asset_hierarchy.ts';
import * as m041 from './041_batch_sequence.ts';
import * as m042 from './042_data_quality.ts';
import * as m044 from './044_unified_namespace.ts';
import * as m046 from './046_rls_initplans.ts';
import * as m047 from './047_dashboard_indexes.ts';
import * as m048 from './048_edge_automation.ts';
import * as m049 from './049_edge_automation_rls.ts';
import * as m050 from './050_vendors.ts';
import * as m051 from './051_vendors_rls.ts';
import * as m054 from './054_site_budgets.ts';
import * as m055 from './055_site_budgets_rls.ts';
import * as m056 from './056_rollouts.ts';
import * as m057 from './057_rollouts_rls.ts';
import * as m060 from './060_equipment_channels.ts';
import * as m061 from './061_equipment_channels_rls.ts';
import * as m062 from './062_schedules.ts';
import * as m063 from './063_schedules_rls.ts';
import * as m064 from './064_switch_safety.ts';
import * as m065 from './065_scenes.ts';
import * as m066 from './066_rules.ts';

export const migrations: Record<string, Migration> = {
  '001_spine': m001,
  '002_enrollment_revocation': m002,
  '003_ingest_batch_kind': m003,
  '004_node_mqtt_session': m004,
  '010_identity': m010,
  '011_row_level_security': m011,
  '012_rls_helper': m012,
  '013_org_scoped_admins': m013,
  '014_login_throttle': m014,
  '020_control_plane': m020,
  '021_control_plane_rls': m021,
  '022_node_poll_interval': m022,
  '030_analytics': m030,
  '031_alerts': m031,
  '032_notifications': m032,
  '033_analytics_alerts_rls': m033,
  '034_rollup_gap_buckets': m034,
  '036_clock_skew': m036,
  '037_site_grid_intensity': m037,
  '040_asset_hierarchy': m040,
  '041_batch_sequence': m041,
  '042_data_quality': m042,
  '044_unified_namespace': m044,
  '046_rls_initplans': m046,
  '047_dashboard_indexes': m047,
  '048_edge_automation': m048,
  '049_edge_automation_rls': m049,
  '050_vendors': m050,
  '051_vendors_rls': m051,
  '054_site_budgets': m054,
  '055_site_budgets_rls': m055,
  '056_rollouts': m056,
  '057_rollouts_rls': m057,
  '060_equipment_channels': m060,
  '061_equipment_channels_rls': m061,
  '062_schedules': m062,
  '063_schedules_rls': m063,
  '064_switch_safety': m064,
  '065_scenes': m065,
  '066_rules': m066,
};
