/**
 * Writing a session's replies to its client, in request order: a batch of small replies is
 * copied into one buffer, big ones and the parts of a streamed reply go out as they are.
 */
import { Buffer } from 'node:buffer';
import { copyBytes } from '../utils/copyBytes.js';
import { JOIN_LIMIT, writeBuffers, type ByteSink } from './SocketWriter.js';
import type { Request } from './Request.js';

const NOTHING = Buffer.alloc(0);

/** CLIENT REPLY OFF or SKIP: the request's reply is not written. */
export function dropReply(req: Request): void {
  req.parts = null;
  req.replyData = NOTHING;
  req.replyStart = req.replyEnd = 0;
}

/** Bytes of a done request's reply still to be written. */
export function unwrittenBytes(req: Request): number {
  const parts = req.parts;
  if (parts === null) return req.replyEnd - req.replyStart;
  let n = 0;
  for (let i = 0; i < parts.length; i++) n += parts[i]!.length;
  return n;
}

/**
 * Writes the replies of `count` requests from `first` on (`total` bytes; `big` when one of
 * them is BIG_PIECE or more, or streamed). False: some of it is queued, and the connection's
 * owner hears onDrain when it is out.
 */
export function writeReplies(
  out: ByteSink,
  first: Request,
  count: number,
  total: number,
  big: boolean,
): boolean {
  if (count === 1 && first.parts === null) return out.write(first.reply!);
  if (big || total > JOIN_LIMIT) {
    const bufs: Buffer[] = [];
    let r: Request | null = first;
    for (let i = 0; i < count; i++, r = r!.next) {
      if (r!.parts !== null) bufs.push(...r!.parts);
      else bufs.push(r!.reply!);
    }
    return bufs.length === 0 || writeBuffers(out, bufs, total);
  }
  const batch = Buffer.allocUnsafe(total);
  let p = 0;
  for (let r: Request | null = first, i = 0; i < count; r = r!.next, i++) {
    p += copyBytes(r!.replyData!, r!.replyStart, r!.replyEnd, batch, p);
  }
  return out.write(batch);
}

/** Writes the parts of a streamed reply that arrived so far; they leave the request. */
export function writeParts(out: ByteSink, req: Request): boolean {
  const parts = req.parts!;
  if (parts.length === 0) return true;
  req.parts = [];
  req.partsWritten = true;
  let total = 0;
  for (const p of parts) total += p.length;
  return writeBuffers(out, parts, total);
}
