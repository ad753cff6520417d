/**
 * LATENCY through the proxy.
 * - HISTOGRAM [command…] is the proxy's own: each command's latency from its receipt to its
 *   reply, as its clients see it (summed over workers), in Redis's format (calls, then the
 *   cumulative count at each power of two of µs where it grows).
 * - LATEST, HISTORY and RESET merge every server's latency monitor (primaries, and replicas
 *   that serve reads): LATEST gives each event's newest sample and its highest; HISTORY all
 *   samples of an event, oldest first; RESET the number of events cleared, summed.
 * DOCTOR and GRAPH describe one server: they read slot 0's group (policy.ts).
 */
import { array, bulk, error, integer, mapHeader, type Proto } from '../resp/encode.js';
import { integerReply, splitArrayReply } from '../resp/ReplyScanner.js';
import { connections, fanOut, sumIntegers, type BackendSession } from './EveryBackend.js';
import { bucketTop } from './LatencyHistogram.js';
import type { ProxyInfo } from './ProxyInfo.js';
import type { Request } from './Request.js';
import type { Router } from './Router.js';

export function latency(router: Router, info: ProxyInfo, s: BackendSession, req: Request): void {
  const conns = connections(router, s, req.seed, true);
  switch (req.info.name) {
    case 'LATENCY|HISTOGRAM': {
      const asked = req.args.slice(2).map((a) => a.toString('latin1').toLowerCase());
      void info.latencies().then(
        (all) => req.answer(histograms(all, asked, s.proto)),
        (e: Error) => req.answer(error(`ERR handle request, LATENCY HISTOGRAM: ${e.message}`)),
      );
      return;
    }
    case 'LATENCY|RESET':
      return fanOut(req, 'LATENCY RESET', conns, (replies) => sumIntegers('LATENCY RESET', replies));
    case 'LATENCY|LATEST':
      return fanOut(req, 'LATENCY LATEST', conns, latest);
    default:
      return fanOut(req, 'LATENCY HISTORY', conns, history);
  }
}

/** `asked` empty: every command that ran; else those named, a container naming all its subcommands. */
function histograms(all: Record<string, number[]>, asked: string[], proto: Proto): Buffer {
  const out: Buffer[] = [];
  let n = 0;
  for (const name of Object.keys(all).sort()) {
    const lower = name.toLowerCase();
    const container = lower.split('|')[0]!;
    if (asked.length > 0 && !asked.includes(lower) && !(lower.includes('|') && asked.includes(container)))
      continue;
    const h = all[name]!;
    const steps = powersOfTwo(h);
    if (steps.calls === 0) continue;
    n++;
    out.push(bulk(lower), mapHeader(2, proto), bulk('calls'), integer(steps.calls), bulk('histogram_usec'));
    out.push(mapHeader(steps.points.length / 2, proto), ...steps.points.map((v) => integer(v)));
  }
  return Buffer.concat([mapHeader(n, proto), ...out]);
}

/** Cumulative counts at 1, 2, 4… µs, each where it grows, as Redis reports them. */
function powersOfTwo(h: readonly number[]): { calls: number; points: number[] } {
  const points: number[] = [];
  let seen = 0;
  let reported = 0;
  let i = 0;
  for (let top = 1; i < h.length; top *= 2) {
    while (i < h.length && bucketTop(i) <= top) seen += h[i++] ?? 0;
    if (seen > reported) points.push(top, seen);
    reported = seen;
  }
  return { calls: seen, points };
}

interface Latest {
  time: number;
  latest: number;
  max: number;
}

/** Each event's newest sample over the servers, and its highest. */
function latest(replies: Buffer[]): Buffer {
  const events = new Map<string, Latest>();
  for (const r of replies) {
    for (const entry of splitArrayReply(r) ?? []) {
      const [name, time, last, max] = splitArrayReply(entry) ?? [];
      if (name === undefined || max === undefined)
        return error('ERR handle response, bad LATENCY LATEST reply');
      const key = bulkString(name);
      const e = { time: int(time!), latest: int(last!), max: int(max) };
      const had = events.get(key);
      if (had === undefined) events.set(key, e);
      else
        events.set(
          key,
          had.time >= e.time
            ? { ...had, max: Math.max(had.max, e.max) }
            : { ...e, max: Math.max(had.max, e.max) },
        );
    }
  }
  return array(
    [...events].map(([name, e]) => array([bulk(name), integer(e.time), integer(e.latest), integer(e.max)])),
  );
}

/** Every server's samples of the event, oldest first. */
function history(replies: Buffer[]): Buffer {
  const samples: Buffer[][] = [];
  for (const r of replies) {
    for (const entry of splitArrayReply(r) ?? []) {
      const pair = splitArrayReply(entry);
      if (pair?.length !== 2) return error('ERR handle response, bad LATENCY HISTORY reply');
      samples.push(pair);
    }
  }
  samples.sort((a, b) => int(a[0]!) - int(b[0]!));
  return array(samples.map((p) => array(p)));
}

const int = (b: Buffer) => integerReply(b, 0, b.length);

/** The text of a `$n\r\n…\r\n` reply. */
function bulkString(b: Buffer): string {
  return b.toString('latin1', b.indexOf(10) + 1, b.length - 2);
}
