// Switching safety (issue 13.6): the pure limit check lives in @wattfleet/devices/automation, so
// the agent running edge automation applies exactly the same limits; here only the hub's clock.
export { type LimitRefusal, limitRefusal, type SwitchLimits } from '@wattfleet/devices/automation';

/**
 * The clock the limits are measured with. Tests pin it to prove "refused now, allowed at T"
 * without waiting; production never replaces it.
 */
export const switchClock = { now: (): number => Date.now() };
