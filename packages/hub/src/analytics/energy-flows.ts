// Energy distribution of a period (the owner app's Sankey): solar → home / battery / grid,
// grid → home / battery, battery → home / grid. Pure: computed from the period's summed day
// figures so every client draws the same flows the hub's tiles report.
//
// Assumptions (the meters give totals per flow, not who fed whom):
// - solar → home and solar → grid are measured per slot by the day computation
//   (solarToLoadWh, solarExportWh); solar that went neither way charged the battery, capped at the
//   battery's measured charge (the rest is losses or meter disagreement and is not drawn).
// - the battery's charge that did not come from solar came from the grid.
// - grid import not charging the battery fed the home.
// - the home's remaining load came from the battery, capped at the measured discharge; discharge
//   beyond that was exported (battery → grid), capped at export not already solar.
// Every flow is ≥ 0 and rounded to whole Wh like the other kWh figures.

export interface FlowTotals {
  solarWh: number;
  loadWh: number;
  importWh: number;
  exportWh: number;
  chargeWh: number;
  dischargeWh: number;
  solarToLoadWh: number;
  solarExportWh: number;
}

export interface EnergyFlows {
  solarToHomeKwh: number;
  solarToBatteryKwh: number;
  solarToGridKwh: number;
  gridToHomeKwh: number;
  gridToBatteryKwh: number;
  batteryToHomeKwh: number;
  batteryToGridKwh: number;
}

const kwh = (wh: number) => Math.round(Math.max(0, wh)) / 1000;
const clamp = (v: number, max: number) => Math.max(0, Math.min(v, Math.max(0, max)));

export function energyFlows(t: FlowTotals): EnergyFlows {
  const solarToHome = clamp(t.solarToLoadWh, t.solarWh);
  const solarToGrid = clamp(t.solarExportWh, t.solarWh - solarToHome);
  const solarToBattery = clamp(t.solarWh - solarToHome - solarToGrid, t.chargeWh);
  const gridToBattery = clamp(t.chargeWh - solarToBattery, t.importWh);
  const gridToHome = clamp(t.importWh - gridToBattery, t.loadWh - solarToHome);
  const batteryToHome = clamp(t.loadWh - solarToHome - gridToHome, t.dischargeWh);
  const batteryToGrid = clamp(t.dischargeWh - batteryToHome, t.exportWh - solarToGrid);
  return {
    solarToHomeKwh: kwh(solarToHome),
    solarToBatteryKwh: kwh(solarToBattery),
    solarToGridKwh: kwh(solarToGrid),
    gridToHomeKwh: kwh(gridToHome),
    gridToBatteryKwh: kwh(gridToBattery),
    batteryToHomeKwh: kwh(batteryToHome),
    batteryToGridKwh: kwh(batteryToGrid),
  };
}
