// Runs the browser tests with Node's test runner (AMPARO_BIN must name the
// amparo binary; make test builds it).
import { spawnSync } from 'node:child_process';
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', 'e2e/console.test.mjs'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
