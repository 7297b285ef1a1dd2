// Fuzz: ≥ 10,000 malformed inputs (fast-check, seeded) over every OpenAPI route, the node-signed
// routes (valid signatures, malformed bodies), every MQTT topic a node may publish, the realtime
// socket and the agent-config validator, against the hub running as its own process on PostgreSQL
// and on PGlite. Fails unless no answer was 5xx, the process never died and nothing of a refused
// input was stored. See packages/hub/test/helpers/fuzz.ts for what each surface sends.
// `npm run bench -- fuzz [--seed=N] [--runs=N (per engine, default 12000)] [--engines=postgres,pglite]`
// Replay a run: the same --seed and --runs send the same inputs in the same order.
import { type FuzzEngine, fuzzEngine, fuzzLine } from '../packages/hub/test/helpers/fuzz.ts';

function arg(name: string, args: string[]): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** How a total is spread over the surfaces (the OpenAPI document has the most to cover). */
export function splitRuns(total: number) {
  return {
    openapi: Math.ceil(total * 0.55),
    signed: Math.ceil(total * 0.15),
    mqtt: Math.ceil(total * 0.15),
    realtime: Math.ceil(total * 0.08),
    config: Math.ceil(total * 0.07),
  };
}

export async function main(args: string[]): Promise<void> {
  const seed = Number(arg('seed', args) ?? Date.now() % 2_147_483_647);
  const total = Number(arg('runs', args) ?? 12_000);
  const engines = (arg('engines', args) ?? 'postgres,pglite').split(',') as FuzzEngine[];
  console.log(
    `fuzz: seed=${seed} runs=${total} engines=${engines.join(',')} (replay with --seed=${seed} --runs=${total})`,
  );
  let requests = 0;
  let fiveXx = 0;
  let crashes = 0;
  let stored = 0;
  for (const engine of engines) {
    const started = Date.now();
    const {
      report,
      stored: found,
      output,
    } = await fuzzEngine(engine, {
      seed,
      runs: splitRuns(total),
      log: (line) => console.log(`  [${engine}] ${line}`),
    });
    const statuses = [...report.statuses].map(([k, n]) => `${k}=${n}`).join(' ');
    console.log(
      `  [${engine}] ${fuzzLine(report, found.length)} in ${Math.round((Date.now() - started) / 1000)} s`,
    );
    console.log(`  [${engine}] answers: ${statuses}`);
    for (const f of report.findings.slice(0, 20)) {
      console.log(`  [${engine}] ${f.surface} ${f.status}: ${f.input}\n      → ${f.answer}`);
    }
    for (const s of found.slice(0, 20))
      console.log(`  [${engine}] stored from a refused input: ${s.marker} in ${s.table}`);
    if (report.crashes) console.log(`  [${engine}] the hub died; its last output:\n${output.slice(-4000)}`);
    requests += report.requests;
    fiveXx += report.fiveXx;
    crashes += report.crashes;
    stored += found.length;
  }
  console.log(`fuzz: requests=${requests} 5xx=${fiveXx} crashes=${crashes} stored_from_bad=${stored}`);
  if (fiveXx || crashes || stored) process.exit(1);
}
