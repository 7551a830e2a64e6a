/**
 * `npm run bench -- <name>...`: runs the named benchmarks (all when none is named) and prints
 * their figures. Figures, not pass/fail tests: timing depends on the machine.
 */
import { lakeBenchmark } from './lake.bench';
import { lambdaBenchmark } from './lambda.bench';
import { limiterBenchmark } from './limiter.bench';
import { queriesBenchmark } from './queries.bench';
import { sdkBenchmark } from './sdk.bench';
import { trackingBenchmark } from './tracking.bench';

// As in jest.config.js: the AWS SDK's notice that its releases after January 2027 need Node 22
// concerns versions this project does not install. Read when the first client is made; the
// benchmarks' child processes inherit it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const BENCHMARKS: Record<string, () => Promise<void>> = {
  sdk: sdkBenchmark,
  tracking: trackingBenchmark,
  limiter: limiterBenchmark,
  lake: lakeBenchmark,
  lambda: lambdaBenchmark,
  queries: queriesBenchmark,
  wal: async () => { await (await import('./wal.bench')).walBenchmark(); },
  startup: async () => { await (await import('./startup.bench')).startupBenchmark(); },
};

async function main(): Promise<void> {
  const requested = process.argv.slice(2);
  const unknown = requested.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0) {
    console.error(`Unknown benchmark(s): ${unknown.join(', ')}. Available: ${Object.keys(BENCHMARKS).join(', ')}`);
    process.exit(2);
  }
  for (const name of requested.length > 0 ? requested : Object.keys(BENCHMARKS)) {
    console.log(`\n=== bench: ${name} (node ${process.version}, ${new Date().toISOString()}) ===`);
    await BENCHMARKS[name]();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
