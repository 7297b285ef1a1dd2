// Writes the hub's OpenAPI document to packages/hub/openapi.json, or with --check fails when the
// committed file differs from what the code produces (run by `npm test`). The hub is built on an
// in-memory PGlite and never listens. Output is deterministic: fixed config, no timestamps.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildHub } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/storage/database.ts';
import { migrate } from '../src/storage/migrate.ts';

const target = fileURLToPath(new URL('../openapi.json', import.meta.url));
const check = process.argv.includes('--check');

/** Sorted keys, so object-building order in plugins cannot make the file churn. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

export async function generateOpenApi(): Promise<string> {
  const database = await openDatabase({ dataDir: 'memory://' });
  try {
    await migrate(database);
    // A metrics token, so /metrics (routed only with one) is in the document too.
    const config = loadConfig(
      {},
      { jwtSecret: 'openapi-generation-only', metricsToken: 'openapi-generation-only', logLevel: 'silent' },
    );
    const app = await buildHub({ config, database, logger: false });
    try {
      await app.ready();
      return `${JSON.stringify(sortKeys(app.swagger()), null, 2)}\n`;
    } finally {
      await app.close();
    }
  } finally {
    await database.close();
  }
}

const text = await generateOpenApi();
if (check) {
  let committed = '';
  try {
    committed = readFileSync(target, 'utf8');
  } catch {
    // missing file: reported as drift below
  }
  if (committed !== text) {
    console.error(
      'packages/hub/openapi.json is out of date: run `node --import tsx packages/hub/scripts/openapi.ts` and commit it.',
    );
    process.exit(1);
  }
  console.log('openapi.json is up to date');
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
