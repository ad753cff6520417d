// `npm test`: makes sure the servers the integration tests start are installed, then runs
// every compiled test file with node's test runner.
import { spawnSync } from 'node:child_process';
import { ensure } from './ensure-deps.js';

ensure(['redis', 'sentinel', 'etcd', 'zookeeper']);
const args = ['--test', '--test-reporter=spec', ...process.argv.slice(2)];
if (process.argv.length <= 2) args.push('dist/test/');
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
