/** What a backend connection carries: tasks, each waiting for its reply. */

/** Something waiting for one reply from a backend. */
export interface BackendTask {
  /** The command's RESP bytes are payload[payloadStart, payloadEnd). */
  readonly payload: Buffer;
  readonly payloadStart: number;
  readonly payloadEnd: number;
  /** The reply (or its last part, after onReplyPart) is data[start, end). */
  onReply(data: Buffer, start: number, end: number): void;
  /**
   * Parts of a big reply, as they arrive; false when the task wants the reply whole. Once it
   * took a part, the rest comes the same way and the last through onReply.
   */
  onReplyPart?(parts: readonly Buffer[]): boolean;
  /** `cause` reads like `backend conn failure, <error>` or `backend conn reset, <last error>`. */
  onFailure(cause: string): void;
  /**
   * Replies to pass over before the task's own: a transaction's payload is MULTI, its commands
   * and EXEC, and only EXEC's reply is wanted.
   */
  skipReplies: number;
}

/**
 * A task for the proxy's own commands on a backend connection (handshake, keep-alive, the
 * commands run on every backend): the reply is handed on as its own slice.
 */
export class InternalTask implements BackendTask {
  readonly payloadStart = 0;
  readonly payloadEnd: number;
  skipReplies = 0;
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
