// The worker of one source group, on real redis-servers: a slot whose big key is still being
// copied must not keep the other slots of its pass from completing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MigrationProgress, type SlotJob } from '../../../src/topom/migration/Progress.js';
import { SourceWorker, type WorkerHost } from '../../../src/topom/migration/SourceWorker.js';
import { startRedis, type RedisServer } from '../../helpers/redis.js';
import { keysInSlot, MOVER_OPTS } from './cluster.js';

let src: RedisServer;
let dst: RedisServer;

before(async () => {
  [src, dst] = await Promise.all([startRedis(), startRedis()]);
});
after(async () => {
  await Promise.all([src?.stop(), dst?.stop()]);
});

test(
  'other slots complete while a big key is copied; its own slot completes after the copy',
  { timeout: 20_000 },
  async () => {
    const [big] = keysInSlot(600, 1, 'big');
    const small = keysInSlot(601, 40, 'small');
    const fields: string[] = [];
    for (let i = 0; i < 5000; i++) fields.push(`f${i}`, 'v');
    await src.call('HSET', big!, ...fields);
    for (const k of small) await src.call('SET', k, 'x');

    const ctl = new AbortController();
    const progress = new MigrationProgress();
    const completed: number[] = [];
    let letGo!: () => void;
    const held = new Promise<void>((r) => (letGo = r));
    let smallDone!: () => void;
    const smallCompleted = new Promise<void>((r) => (smallDone = r));
    const problems: string[] = [];
    const host: WorkerHost = {
      progress,
      signal: ctl.signal,
      moverOptions: () => MOVER_OPTS,
      // The copy of the big key cannot finish before the test lets go of its hold.
      holder: { hold: () => held, release: async () => {} },
      master: (gid) => (gid === 1 ? src.addr : dst.addr),
      keysOn: () => 0,
      complete: async (jobs: SlotJob[]) => {
        const sids = jobs.map((j) => j.sid);
        completed.push(...sids);
        if (sids.includes(601)) smallDone();
        return sids;
      },
      failed: (area, e) => void problems.push(`${area}: ${String(e)}`),
      succeeded: () => {},
      ended: (job, done) => progress.drop(job.sid, done),
    };
    const worker = new SourceWorker(1, host);
    try {
      for (const sid of [600, 601]) {
        progress.start({ sid, from: 1, to: 2, reversed: false, estimate: 0 });
        worker.add(sid);
      }
      await smallCompleted;
      assert.deepEqual(completed, [601], 'the small slot completed while the big key was held');
      assert.equal(await src.call('HLEN', big!), 5000, 'the big key is still on the source');

      letGo();
      await worker.done();
      assert.deepEqual(completed, [601, 600]);
      assert.equal(await dst.call('HLEN', big!), 5000);
      assert.equal(await src.call('DBSIZE'), 0);
      assert.deepEqual(problems, []);
    } finally {
      letGo();
      ctl.abort();
      await worker.done();
      worker.close();
    }
  },
);
