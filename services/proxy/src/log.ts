/** Structured logging (pino) with secrets redacted by default. */
import { type Logger, pino } from 'pino';
import type { LogLevel } from './config.ts';

export type { Logger };

const REDACT = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers.cookie',
  '*.headers.cookie',
  'token',
  '*.token',
  'authToken',
  '*.authToken',
];

export function createLogger(level: LogLevel): Logger {
  return pino({ name: 'berth-proxy', level, redact: { paths: REDACT, censor: '[redacted]' } });
}

/** A request path for logs: the query string is dropped, as it may carry secrets. */
export function logPath(url: string | undefined): string {
  return (url ?? '').split('?', 1)[0] ?? '';
}
