import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { GENERATED_ARTIFACTS } from './generated-artifacts';

for (const artifact of GENERATED_ARTIFACTS) {
  writeFileSync(artifact.file, artifact.render());
  console.log(`wrote ${path.relative(process.cwd(), artifact.file)}`);
}
