// CO₂ avoided by the site's solar, from the site's grid intensity setting (g CO₂/kWh, sites.
// grid_intensity_g_per_kwh). Pure.
//
// Assumption: every kWh of solar that was used on site or exported displaced one kWh of grid
// electricity at the site's intensity:
//
//   avoided kg = (solar → home directly + solar that came back out of the battery to the home
//                 + solar exported) kWh × intensity g/kWh ÷ 1000
//
// - Solar still held in the battery at the end of the period, and battery losses, are not counted
//   (they displaced nothing yet); grid energy cycled through the battery is never counted (the
//   battery's state-of-origin ledger in energy-day.ts keeps the two apart).
// - One intensity for the whole period: the site's current setting (not a history of settings,
//   not a time-of-day grid mix). Changing it changes the figures of past periods too.
// - Not set (null) → null: no figure at all, never a 0 that looks measured.
// Rounded to whole grams.

export interface SolarUse {
  solarToLoadWh: number;
  batterySolarToLoadWh: number;
  solarExportWh: number;
}

/** Solar energy that displaced grid electricity, Wh (used on site or exported). */
export const displacedWh = (e: SolarUse) =>
  Math.max(0, e.solarToLoadWh) + Math.max(0, e.batterySolarToLoadWh) + Math.max(0, e.solarExportWh);

export function co2AvoidedKg(e: SolarUse, intensityGPerKwh: number | null | undefined): number | null {
  if (intensityGPerKwh === null || intensityGPerKwh === undefined) return null;
  // Wh × g/kWh = mg; ÷ 1000 = g, rounded; ÷ 1000 = kg.
  return Math.round((displacedWh(e) * intensityGPerKwh) / 1000) / 1000;
}
