// The demo fleet: twelve homes in twelve time zones, an installer company that manages most of
// them, and one login per role. Plain data, so the seed and the tests agree on it.

export interface DemoSite {
  city: string;
  timezone: string;
  latitude: number;
  longitude: number;
  pvKw: number;
  batteryKwh: number | null;
  /** Managed by the demo installer company. */
  managed: boolean;
  status: 'active' | 'commissioning';
  /** A node that stopped talking, so the fleet has something to find. */
  silent?: boolean;
}

export const DEMO_PASSWORD = 'wattfleet-demo';

export const DEMO_USERS = [
  { email: 'admin@demo.wattfleet.local', role: 'admin', org: 'operator', name: 'Ada Admin' },
  { email: 'installer@demo.wattfleet.local', role: 'installer', org: 'installer', name: 'Ines Installer' },
  { email: 'owner@demo.wattfleet.local', role: 'owner', org: 'Berlin', name: 'Otto Owner' },
  { email: 'viewer@demo.wattfleet.local', role: 'viewer', org: 'Berlin', name: 'Vera Viewer' },
] as const;

export const DEMO_SITES: DemoSite[] = [
  {
    city: 'Berlin',
    timezone: 'Europe/Berlin',
    latitude: 52.52,
    longitude: 13.4,
    pvKw: 8,
    batteryKwh: 10,
    managed: true,
    status: 'active',
  },
  {
    city: 'Madrid',
    timezone: 'Europe/Madrid',
    latitude: 40.42,
    longitude: -3.7,
    pvKw: 6,
    batteryKwh: 5,
    managed: true,
    status: 'active',
  },
  {
    city: 'London',
    timezone: 'Europe/London',
    latitude: 51.51,
    longitude: -0.13,
    pvKw: 4,
    batteryKwh: null,
    managed: true,
    status: 'active',
  },
  {
    city: 'Athens',
    timezone: 'Europe/Athens',
    latitude: 37.98,
    longitude: 23.73,
    pvKw: 7,
    batteryKwh: 13.5,
    managed: true,
    status: 'active',
    silent: true,
  },
  {
    city: 'New York',
    timezone: 'America/New_York',
    latitude: 40.71,
    longitude: -74.0,
    pvKw: 9,
    batteryKwh: 13.5,
    managed: true,
    status: 'active',
  },
  {
    city: 'Denver',
    timezone: 'America/Denver',
    latitude: 39.74,
    longitude: -104.99,
    pvKw: 10,
    batteryKwh: null,
    managed: true,
    status: 'active',
  },
  {
    city: 'Los Angeles',
    timezone: 'America/Los_Angeles',
    latitude: 34.05,
    longitude: -118.24,
    pvKw: 7.5,
    batteryKwh: 10,
    managed: true,
    status: 'active',
  },
  {
    city: 'São Paulo',
    timezone: 'America/Sao_Paulo',
    latitude: -23.55,
    longitude: -46.63,
    pvKw: 5,
    batteryKwh: null,
    managed: true,
    status: 'commissioning',
  },
  {
    city: 'Cape Town',
    timezone: 'Africa/Johannesburg',
    latitude: -33.92,
    longitude: 18.42,
    pvKw: 6,
    batteryKwh: 10,
    managed: true,
    status: 'active',
  },
  {
    city: 'New Delhi',
    timezone: 'Asia/Kolkata',
    latitude: 28.61,
    longitude: 77.21,
    pvKw: 5,
    batteryKwh: 5,
    managed: true,
    status: 'active',
  },
  {
    city: 'Sydney',
    timezone: 'Australia/Sydney',
    latitude: -33.87,
    longitude: 151.21,
    pvKw: 6.6,
    batteryKwh: 13.5,
    managed: false,
    status: 'active',
  },
  {
    city: 'Tokyo',
    timezone: 'Asia/Tokyo',
    latitude: 35.68,
    longitude: 139.69,
    pvKw: 4.5,
    batteryKwh: 7,
    managed: false,
    status: 'active',
  },
];

/** The simulator configuration of a demo site (seeded by city: the same history on every machine). */
export function simulatorConfigFor(site: DemoSite) {
  return {
    key: 'site',
    seed: `demo-${site.city}`,
    stepSeconds: 60,
    historyDays: 31,
    location: { latitude: site.latitude, longitude: site.longitude, timezone: site.timezone },
    pv: { peakW: site.pvKw * 1000 },
    load: { baseW: 300, peakW: 2500 },
    ...(site.batteryKwh
      ? {
          battery: {
            capacityWh: site.batteryKwh * 1000,
            maxChargeW: Math.min(5000, site.batteryKwh * 500),
            initialSocPct: 40,
            // Two homes charge from the grid at night on a cheap tariff.
            ...(site.city === 'Berlin' || site.city === 'Sydney'
              ? { gridCharge: { fromHour: 2, toHour: 5, powerW: 2000, targetSocPct: 60 } }
              : {}),
          },
        }
      : {}),
  };
}
