// JSON logs (pino). Secrets are redacted wherever they appear under these keys.
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

export function createLogger(level: string, name = 'dialwell'): Logger {
  return pino({ name, level, redact: { paths: redactPaths, censor: '[redacted]' } });
}
