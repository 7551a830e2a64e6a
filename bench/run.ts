/**
 * `npm run bench -- <name>...`: runs the named benchmarks (all when none is named) and prints
 * their figures. Figures, not pass/fail tests: timing depends on the machine.
 */
import { lakeBenchmark } from './lake.bench';
import { limiterBenchmark } from './limiter.bench';
import { sdkBenchmark } from './sdk.bench';

const BENCHMARKS: Record<string, () => Promise<void>> = {
  sdk: sdkBenchmark,
  limiter: limiterBenchmark,
  lake: lakeBenchmark,
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

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
