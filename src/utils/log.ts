/** Logger factory: pino JSON lines with Codis level names (`--log`, `--log-level`). */
import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';

export type LogLevelName = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'NONE';

const LEVELS: Record<LogLevelName, LevelWithSilent> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
  NONE: 'silent',
};

/** Maps a Codis level name (case-insensitive) to pino's; throws `invalid loglevel = "x"`. */
export function parseLogLevel(name: string): LevelWithSilent {
  const level = LEVELS[String(name).trim().toUpperCase() as LogLevelName];
  if (!level) throw new Error(`invalid loglevel = ${JSON.stringify(name)}`);
  return level;
}

export interface LoggerOptions {
  /** Append to this file (created with its directory if missing); stderr when absent. */
  file?: string;
  /** Codis level name; INFO by default. */
  level?: string;
  /** Written as `name` on every line, e.g. `proxy`. */
  name?: string;
  /**
   * Write synchronously (default true): log volume is low and lines must survive a crash or
   * process.exit(). Pass false for buffered writes and call `logger.flush()`.
   */
  sync?: boolean;
}

export type Logger = PinoLogger & {
  /** Changes the level of this logger (children made before keep theirs). Throws on a bad name. */
  setLevel(name: string): void;
  /** The current level as a Codis name. */
  levelName(): LogLevelName;
};

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = parseLogLevel(opts.level ?? 'INFO');
  const sync = opts.sync ?? true;
  const dest = opts.file
    ? pino.destination({ dest: opts.file, append: true, mkdir: true, sync })
    : pino.destination({ dest: 2, sync });
  const base = pino(
    {
      level,
      name: opts.name,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label.toUpperCase() }) },
    },
    dest,
  );
  return Object.assign(base, {
    setLevel(name: string): void {
      base.level = parseLogLevel(name);
    },
    levelName(): LogLevelName {
      const found = (Object.keys(LEVELS) as LogLevelName[]).find((n) => LEVELS[n] === base.level);
      return found ?? 'INFO';
    },
  });
}
