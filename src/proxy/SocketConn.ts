/** A client connection over net.Socket, where the bare handle cannot be used (HandleConn). */
import type net from 'node:net';
import { LINGER_MS, NO_OWNER, type ClientConn, type ConnOwner } from './ClientConn.js';
import { SocketSink } from './SocketWriter.js';

export class SocketConn implements ClientConn {
  private owner: ConnOwner = NO_OWNER;
  private readonly sink: SocketSink;

  constructor(
    private readonly socket: net.Socket,
    private readonly unixPath: string,
  ) {
    this.sink = new SocketSink(socket);
    socket.on('data', (chunk: Buffer) => this.owner.onData(chunk));
    // Needs allowHalfOpen: otherwise the socket ends itself at the client's FIN.
    socket.on('end', () => this.owner.onEnd());
    socket.on('drain', () => this.owner.onDrain());
    socket.on('error', () => {});
    socket.on('close', () => this.owner.onClose());
  }

  attach(owner: ConnOwner): void {
    this.owner = owner;
  }

  /** After end() or destroy() writes are dropped, as a HandleConn does. */
  write(data: Buffer): boolean {
    return this.done() || this.sink.write(data);
  }

  writev(chunks: Buffer[]): boolean {
    return this.done() || this.sink.writev(chunks);
  }

  private done(): boolean {
    return this.socket.writableEnded || this.socket.destroyed;
  }

  get unsent(): number {
    return this.sink.unsent;
  }

  get fd(): number {
    return (this.socket as { _handle?: { fd?: number } | null })._handle?.fd ?? -1;
  }

  get remote(): string {
    const s = this.socket;
    return s.remoteAddress === undefined ? `${this.unixPath}:0` : `${s.remoteAddress}:${s.remotePort}`;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(last?: Buffer): void {
    const s = this.socket;
    if (s.writableEnded || s.destroyed) return;
    if (last !== undefined) this.sink.write(last);
    s.end(() => setTimeout(() => s.destroy(), LINGER_MS).unref());
  }

  destroy(): void {
    this.socket.destroy();
  }

  setNoDelay(): void {
    this.socket.setNoDelay(true);
  }

  setKeepAlive(periodMs: number): void {
    this.socket.setKeepAlive(true, periodMs);
  }
}
