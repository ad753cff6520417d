/** What a Session gets from the proxy that runs it: its settings, counters and routing. */
import type { DecoderLimits } from '../resp/RequestDecoder.js';
import type { LocalContext } from './LocalCommands.js';
import type { Session } from './Session.js';
import type { Stats } from './Stats.js';

export interface SessionOptions {
  maxPipeline: number;
  sendTimeoutMs: number;
  breakOnFailure: boolean;
  forwardUnknown: boolean;
  /** Bytes of unsent replies past which the session stops reading its client. */
  sendBufferBytes: number;
  /** Reply bytes a session may have in flight (sizes its pipeline window). */
  replyBudgetBytes: number;
  limits: DecoderLimits;
}

export interface SessionHost extends LocalContext {
  readonly counters: Stats;
  readonly options: SessionOptions;
  sessionClosed(s: Session): void;
}
