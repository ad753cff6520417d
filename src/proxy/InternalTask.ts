import type { BackendTask } from './BackendConn.js';

/**
 * A task for the proxy's own commands on a backend connection (handshake, keep-alive, the
 * commands run on every backend): the reply is handed on as its own slice.
 */
export class InternalTask implements BackendTask {
  readonly payloadStart = 0;
  readonly payloadEnd: number;
  constructor(
    readonly payload: Buffer,
    private readonly reply: (r: Buffer) => void = () => {},
    private readonly fail: (cause: string) => void = () => {},
  ) {
    this.payloadEnd = payload.length;
  }
  onReply(data: Buffer, start: number, end: number): void {
    this.reply(data.subarray(start, end));
  }
  onFailure(cause: string): void {
    this.fail(cause);
  }
}
