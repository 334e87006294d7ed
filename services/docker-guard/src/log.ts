/** Structured logging (pino). The guard never logs bodies or query strings: they carry server tokens. */
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'berth-docker-guard'): Logger {
  return pino({ name, level });
}
