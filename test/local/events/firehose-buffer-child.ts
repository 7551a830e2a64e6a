/**
 * A process that feeds a FirehoseBuffer until it is killed, for the crash test in
 * firehose-buffer.test.ts: `firehose-buffer-child.ts <data dir>`. It puts records from several
 * concurrent writers (as concurrent PutEvents calls do) and prints `acked <id>` for each record
 * once its `put` has resolved. A small size hint makes it deliver objects as it goes, so the kill
 * can land anywhere: in a write, a sync, an object's write or a segment's deletion.
 */
import { FirehoseBuffer } from '../../../local/events/firehose-buffer';

const WRITERS = 4;
const RECORDS_PER_PUT = 3;

async function main(): Promise<void> {
  const dataDir = process.argv[2];
  const buffer = new FirehoseBuffer({ dataDir, intervalMs: 60_000, sizeBytes: 4096 });
  await buffer.start();
  process.stdout.write('ready\n');
  let next = 0;
  const writer = async (): Promise<void> => {
    for (;;) {
      const ids = Array.from({ length: RECORDS_PER_PUT }, () => `r-${String(next++).padStart(7, '0')}`);
      await buffer.put(ids.map((id) => JSON.stringify({ detail: { eventId: id, pad: 'x'.repeat(100) } })));
      process.stdout.write(ids.map((id) => `acked ${id}\n`).join(''));
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
