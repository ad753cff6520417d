/**
 * What a client waits for on the servers, over backend connections of its own: its blocking
 * commands (Blocking.ts) and its WAITs (Wait.ts). Each kind is set up on first use; all of it
 * ends with the client.
 */
import type { BackendConn } from './BackendConn.js';
import { BlockingConn } from './Blocking.js';
import type { Request } from './Request.js';
import type { Router } from './Router.js';
import { Waits } from './Wait.js';

export class Waiting {
  private blocking: BlockingConn | null = null;
  private waits: Waits | null = null;

  constructor(private readonly router: Router) {}

  block(req: Request, slot: number): void {
    this.blocking ??= new BlockingConn(this.router);
    this.blocking.forward(req, slot);
  }

  /** A WAIT, to start once `first` (the client's oldest unanswered request) is it. */
  wait(req: Request, first: Request | null): void {
    this.waits ??= new Waits(this.router);
    this.waits.queue(req);
    this.waits.startReady(first);
  }

  /** The client's oldest unanswered request is now `first`. */
  startReady(first: Request | null): void {
    this.waits?.startReady(first);
  }

  /** A blocking command or WAIT is out (INFO's blocked_clients). */
  get busy(): boolean {
    return this.blocking?.busy === true || this.waits?.busy === true;
  }

  /** The connections a blocking command or WAIT is out on (CLIENT UNBLOCK). */
  blockedOn(): BackendConn[] {
    return [...(this.blocking?.blockedOn() ?? []), ...(this.waits?.blockedOn() ?? [])];
  }

  close(): void {
    this.blocking?.close();
    this.waits?.close();
  }
}
