// `npm test`: makes sure the servers the integration tests start are installed, then runs
// every compiled `*.test.js` file with node's test runner (helpers next to them are not tests).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensure } from './ensure-deps.js';

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return testFiles(p);
    return e.name.endsWith('.test.js') ? [p] : [];
  });
}

ensure(['redis', 'benchmark', 'sentinel', 'etcd', 'etcdctl', 'zookeeper', 'chromium', 'redispy', 'tclsh']);
const picked = process.argv.slice(2);
const args = [
  '--test',
  '--test-reporter=spec',
  ...(picked.length > 0 ? picked : testFiles('dist/test').sort()),
];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
