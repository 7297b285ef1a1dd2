// Config migrations live in @wattfleet/devices (the hub's validator applies the same steps).
export { CONFIG_MIGRATIONS, type ConfigMigration, migrateConfig } from '@wattfleet/devices/config';
