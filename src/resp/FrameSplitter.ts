/**
 * Whole replies out of a connection's reads, for the proxy's own connections that read a server's
 * messages (pub/sub, tracking reports) rather than forward them: a reply split over reads is joined.
 */
import { ReplyScanner } from './ReplyScanner.js';

export class FrameSplitter {
  private readonly scanner = new ReplyScanner();
  /** The start of a reply that the last read did not finish. */
  private pending: Buffer[] = [];

  /** For a new connection. */
  reset(): void {
    this.scanner.reset();
    this.pending = [];
  }

  /**
   * Hands each whole reply in `chunk` to `onFrame`, which returns false to stop (the connection is
   * being dropped). Throws ReplyProtocolError on bytes that are not RESP.
   */
  feed(chunk: Buffer, onFrame: (frame: Buffer) => boolean): void {
    let pos = 0;
    while (pos < chunk.length) {
      const end = this.scanner.scan(chunk, pos);
      if (end < 0) {
        this.pending.push(chunk.subarray(pos));
        return;
      }
      const piece = chunk.subarray(pos, end);
      const frame = this.pending.length > 0 ? Buffer.concat([...this.pending, piece]) : piece;
      this.pending = [];
      pos = end;
      if (!onFrame(frame)) return;
    }
  }
}
