// The web console (web/, built by `npm run console:build` to web/dist) served as static files from
// the API's own server under "/"; the API stays under /api. Views are chosen client-side from the
// hash (#/agent, #/admin/trunks, ...), so no server-side fallback route is needed.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** web/dist beside the package root, found from this file whether it runs from src/ or a compiled dist/. */
export function defaultConsoleDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'web', 'dist');
    dir = path.dirname(dir);
  }
  return path.resolve('web/dist');
}

// Everything the console loads comes from this server: scripts, styles, audio and the API; the
// one exception is the browser phone's websocket to Asterisk (WEBRTC_WS_URL), named exactly.
const cspWith = (connect: string[]): string =>
  `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; media-src 'self'; connect-src ${["'self'", ...connect].join(' ')}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`;

/** The CSP source for the browser phone's websocket URL (its scheme, host and port). */
export function websocketSource(wsUrl: string): string {
  const u = new URL(wsUrl);
  return `${u.protocol}//${u.host}`;
}

export async function installConsole(app: FastifyInstance, dir: string, connect: string[] = []): Promise<void> {
  const csp = cspWith(connect);
  if (!existsSync(path.join(dir, 'index.html'))) {
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply.status(503).type('text/plain').send(`the web console is not built (no ${dir}/index.html): run \`npm run console:build\``));
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    index: ['index.html'],
    // Hashed asset names never change content: cache them; index.html always revalidates.
    setHeaders(res, file) {
      res.setHeader('content-security-policy', csp);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'same-origin');
      res.setHeader('cache-control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
