// The portal's automation wire types (src/api/automation.ts, written out so the browser bundle
// does not load TypeBox) are the hub's own: each pair must be assignable both ways, which the
// type check (`npm test -- --only=typecheck`) proves; the test itself only records that it ran.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as Hub from '../../hub/src/automation/automation.schema.ts';
import type * as HubRules from '../../hub/src/automation/rules/rules.schema.ts';
import type * as HubScenes from '../../hub/src/automation/scenes/scenes.schema.ts';
import type * as HubSchedules from '../../hub/src/automation/schedules/schedules.schema.ts';
import type * as Web from '../src/api/automation.ts';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same = <A, B>(ok: Same<A, B>) => ok;

describe('automation wire types', () => {
  it('match the hub schemas (compile time)', () => {
    const checks = [
      same<Web.Schedule, HubSchedules.Schedule>(true),
      same<Web.ScheduleList, HubSchedules.ScheduleList>(true),
      same<Web.ScheduleBody, HubSchedules.ScheduleBody>(true),
      same<Web.SchedulePatch, HubSchedules.SchedulePatch>(true),
      same<{ items: Web.ScheduleRun[] }, HubSchedules.RunList>(true),
      same<Web.OccurrenceList, HubSchedules.OccurrenceList>(true),
      same<Web.Scene, HubScenes.Scene>(true),
      same<Web.SceneBody, HubScenes.SceneBody>(true),
      same<Web.Activation, HubScenes.Activation>(true),
      same<Web.Rule, HubRules.Rule>(true),
      same<Web.RuleBody, HubRules.RuleBody>(true),
      same<{ items: Web.Firing[] }, HubRules.FiringList>(true),
      same<Web.DryRunResult, HubRules.DryRunResult>(true),
      same<Web.AutomationSettings, Hub.AutomationSettings>(true),
    ];
    assert.ok(checks.every(Boolean));
  });
});
