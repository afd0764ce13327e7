// JSON logs (pino), to stdout or appended to LOG_FILE (the test run names one, so that its console
// shows results, not log lines). Secrets are redacted wherever they appear under these keys.
import { pino, type Logger } from 'pino';

export type { Logger };

export const redactPaths = [
  'password', '*.password', '*.*.password',
  'secret', '*.secret',
  'token', '*.token', 'currentPassword', '*.currentPassword', 'csrfToken', '*.csrfToken',
  'cookie', '*.cookie', 'req.headers.cookie', '*.set-cookie', 'x-csrf-token', '*.x-csrf-token',
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
  'ARI_PASSWORD', 'AMI_PASSWORD', '*.ARI_PASSWORD', '*.AMI_PASSWORD',
  'DATABASE_URL', '*.DATABASE_URL',
];

/** `file`: append there (several processes may share one file: each line is one append) instead of stdout. */
export function createLogger(level: string, file?: string): Logger {
  const options = { name: 'dialwell', level, redact: { paths: redactPaths, censor: '[redacted]' } };
  // Synchronous writes, as pino's stdout default: no line is lost when the process exits.
  return file ? pino(options, pino.destination({ dest: file, append: true, mkdir: true, sync: true })) : pino(options);
}
