/**
 * SCRIPT KILL and FUNCTION KILL through the proxy. The script may run on any group (on a
 * replica, for EVAL_RO and FCALL_RO), and a busy server reads nothing more from the connection
 * that sent it, which may be a shared one. So the KILL goes to every server that serves clients
 * over a connection of its own, closed once answered. The client gets +OK if a server killed
 * one; else a server's refusal (UNKILLABLE, for a script that already wrote); else Redis's
 * NOTBUSY, as from a server running nothing.
 */
import { error } from '../resp/encode.js';
import type { BackendSession } from './EveryBackend.js';
import type { Request } from './Request.js';
import type { Router } from './Router.js';

const NOTBUSY = Buffer.from('-NOTBUSY');

export function killScript(router: Router, s: BackendSession, req: Request): void {
  const what = req.info.name.replace('|', ' ');
  const conns = [router.primary, router.replica].flatMap((pool) =>
    pool.addrs().map((addr) => router.privateConn(pool.get(addr)!, s.db, s.proto, false)),
  );
  if (conns.length === 0) {
    return req.answer(error(`ERR handle request, ${what} has no backend to run on: no slot is online`));
  }
  const replies: Buffer[] = [];
  let failure: string | null = null;
  let left = conns.length;
  const finish = () => {
    if (--left > 0) return;
    const killed = replies.find((r) => r[0] === 0x2b);
    const refused = replies.find((r) => r[0] === 0x2d && !r.subarray(0, NOTBUSY.length).equals(NOTBUSY));
    req.answer(killed ?? refused ?? (failure !== null ? error(failure) : replies[0]!));
  };
  for (const bc of conns) {
    bc.call(
      req.args,
      (r) => {
        replies.push(r);
        bc.close();
        finish();
      },
      (cause) => {
        failure ??= `ERR handle request, ${what} failed on ${bc.addr}: ${cause}`;
        bc.close();
        finish();
      },
    );
  }
}
