// Authentication and authorisation for every route: a Bearer token (programs) or a console session
// cookie (browsers; every change made with it must carry the session's CSRF token) names a user; the route names
// the permission it needs (routes that name none fail at start-up, so nothing is open by
// mistake); failed token checks are rate-limited per client address; phone numbers are masked in
// every response to a user without "numbers.view", and unmasked numbers that are shown are audited.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../db/database.js';
import { writeAudit, type Actor } from '../auth/audit.repository.js';
import type { Permission } from '../auth/permissions.js';
import { authenticateSession, csrfMatches } from '../auth/sessions.repository.js';
import { authenticate, type Principal } from '../auth/users.repository.js';
import { maskPhone } from '../compliance/phone.js';
import { HttpError } from './errors.js';

/** What a route needs: "public", or one of some permissions; agentParam scopes agents to their own agent id. */
export type Access = 'public' | { perm: Permission | readonly Permission[]; agentParam?: string };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** Every route with its access rule, as registered (the permission tests walk it). */
    routeAccess: { method: string; url: string; access: Access | undefined }[];
    /** The failed-credential limiter: token checks, session cookies and sign-ins share it. */
    authLimiter: FailureLimiter;
    authOptions: AuthOptions;
  }
}

export interface AuthOptions {
  /** Failed token checks a client address may make in a burst, then one more per refillMs. */
  failureBurst: number;
  failureRefillMs: number;
  /** How long a console session lives from sign-in. */
  sessionTtlMs: number;
  /** Mark the session cookies Secure (serve the console over HTTPS, or behind a TLS proxy). */
  secureCookies: boolean;
}

export const defaultAuthOptions: AuthOptions = { failureBurst: 10, failureRefillMs: 6_000, sessionTtlMs: 12 * 3_600_000, secureCookies: false };

export const sessionCookie = 'dw_session';
/** Readable by the console's script, which echoes it in x-csrf-token (double submit). */
export const csrfCookie = 'dw_csrf';
export const csrfHeader = 'x-csrf-token';
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The value of one cookie in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

/** Set-Cookie values for a session (or, with a null session, clearing both cookies). */
export function sessionCookies(opts: AuthOptions, s: { secret: string; csrfToken: string; expiresAt: Date } | null): string[] {
  const common = `Path=/; SameSite=Strict${opts.secureCookies ? '; Secure' : ''}`;
  if (!s) return [`${sessionCookie}=; ${common}; HttpOnly; Max-Age=0`, `${csrfCookie}=; ${common}; Max-Age=0`];
  const expires = `Expires=${s.expiresAt.toUTCString()}`;
  return [`${sessionCookie}=${s.secret}; ${common}; HttpOnly; ${expires}`, `${csrfCookie}=${s.csrfToken}; ${common}; ${expires}`];
}

/** A token bucket per client address, spent by failed token checks. */
export class FailureLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly opts: Pick<AuthOptions, 'failureBurst' | 'failureRefillMs'>, private readonly now = () => Date.now()) {}

  private bucket(key: string) {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.opts.failureBurst, at: t };
    const refill = Math.floor((t - b.at) / this.opts.failureRefillMs);
    if (refill > 0) {
      b.tokens = Math.min(this.opts.failureBurst, b.tokens + refill);
      b.at += refill * this.opts.failureRefillMs;
    }
    if (b.tokens >= this.opts.failureBurst) b.at = t;
    this.buckets.set(key, b);
    if (this.buckets.size > 10_000) this.buckets.delete(this.buckets.keys().next().value as string);
    return b;
  }

  /** Seconds until this address may try again, or 0 when it may now. */
  blockedFor(key: string): number {
    const b = this.bucket(key);
    return b.tokens > 0 ? 0 : Math.ceil((b.at + this.opts.failureRefillMs - this.now()) / 1000);
  }

  fail(key: string): void {
    const b = this.bucket(key);
    b.tokens = Math.max(0, b.tokens - 1);
  }
}

export const actorOf = (req: FastifyRequest): Actor =>
  req.principal ? { userId: req.principal.userId, name: req.principal.name } : { userId: null, name: 'anonymous' };

/** The principal of an authenticated route (the hook has already refused requests without one). */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new HttpError(401, 'this route needs Authorization: Bearer <token> or a console session');
  return req.principal;
}

const phonePattern = /\+[1-9]\d{6,14}(?!\d)/g;

export function maskNumbersIn(text: string): string {
  return text.replace(phonePattern, (m) => maskPhone(m));
}

function accessOf(req: FastifyRequest): Access | undefined {
  return req.routeOptions.config.access;
}

export function installAuth(app: FastifyInstance, db: Db, options: Partial<AuthOptions> = {}): void {
  const opts = { ...defaultAuthOptions, ...options };
  const limiter = new FailureLimiter(opts);
  app.decorate('authLimiter', limiter);
  app.decorate('authOptions', opts);
  app.decorateRequest('principal', null);
  const table: FastifyInstance['routeAccess'] = [];
  app.decorate('routeAccess', table);

  app.addHook('onRoute', (route) => {
    const config = route.config as { access?: Access } | undefined;
    for (const method of [route.method].flat()) if (method !== 'HEAD') table.push({ method, url: route.url, access: config?.access });
    if (route.url.startsWith('/api/') && !config?.access) {
      throw new Error(`route ${String(route.method)} ${route.url} names no access rule (config.access)`);
    }
  });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const access = accessOf(req);
    if (!access || access === 'public') return;
    const wait = limiter.blockedFor(req.ip);
    if (wait > 0) {
      void reply.header('retry-after', String(wait));
      throw new HttpError(429, `too many failed sign-ins or token checks from ${req.ip}; try again in ${wait} s`);
    }
    const header = req.headers.authorization;
    const cookie = header === undefined ? cookieValue(req.headers.cookie, sessionCookie) : undefined;
    let principal: Principal | null;
    if (cookie !== undefined) {
      const session = await authenticateSession(db, cookie);
      if (!session) {
        limiter.fail(req.ip);
        void reply.header('set-cookie', sessionCookies(opts, null));
        throw new HttpError(401, 'your console session has expired or was ended: sign in again');
      }
      // Another site cannot read the CSRF cookie, so it cannot echo it: a change it forges is refused.
      const sent = req.headers[csrfHeader];
      if (!safeMethods.has(req.method) && (typeof sent !== 'string' || !csrfMatches(sent, session.csrfHash))) {
        throw new HttpError(403, `a change made with a console session needs the ${csrfHeader} header (the ${csrfCookie} cookie's value)`);
      }
      const { csrfHash: _h, ...p } = session;
      principal = p;
    } else {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
      // Only a presented token that is wrong spends the address's allowance: that is what guessing looks like.
      if (!m) {
        throw new HttpError(401, 'missing or malformed Authorization header: send "Authorization: Bearer <token>" (create one with `dialwell token create`), or sign in (POST /api/v1/session)');
      }
      principal = await authenticate(db, m[1]!);
      if (!principal) {
        limiter.fail(req.ip);
        throw new HttpError(401, 'the token is unknown, revoked, or its user is disabled');
      }
    }
    req.principal = principal;
    const perms: readonly Permission[] = typeof access.perm === 'string' ? [access.perm] : access.perm;
    if (!perms.some((p) => principal.permissions.has(p))) {
      throw new HttpError(403, `role ${principal.role} may not ${req.method} ${req.routeOptions.url}: it needs ${perms.join(' or ')}`);
    }
  });

  // Someone who holds a route's permission only as "agent.self" acts on their own agent alone.
  // Checked before the body is validated, so another agent's session is a 403 whatever is sent.
  app.addHook('preValidation', async (req: FastifyRequest) => {
    const access = accessOf(req);
    const p = req.principal;
    if (!access || access === 'public' || !access.agentParam || !p) return;
    const perms: readonly Permission[] = typeof access.perm === 'string' ? [access.perm] : access.perm;
    if (perms.some((x) => x !== 'agent.self' && p.permissions.has(x))) return;
    const id = (req.params as Record<string, unknown>)[access.agentParam];
    if (!p.agentId || id !== p.agentId) {
      throw new HttpError(403, `user ${p.name} acts only on their own agent (${p.agentId ?? 'none assigned'})`);
    }
  });

  app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const p = req.principal;
    if (!p || typeof payload !== 'string') return payload;
    const type = String(reply.getHeader('content-type') ?? '');
    if (!/json|csv|text\/plain/.test(type)) return payload;
    if (!p.permissions.has('numbers.view')) return maskNumbersIn(payload);
    if (req.method === 'GET' && reply.statusCode < 300) {
      const shown = payload.match(phonePattern);
      if (shown) {
        await writeAudit(db, { userId: p.userId, name: p.name }, {
          action: 'numbers.viewed', resource: 'route', resourceId: req.routeOptions.url ?? req.url,
          details: { url: req.url, count: shown.length },
        });
      }
    }
    return payload;
  });
}
