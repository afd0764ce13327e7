// The base of every error a client can cause in the domain code: a status in HTTP's terms and,
// when one input field is at fault, its name. The HTTP layer maps these to responses in one place.
export class ClientError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 403 | 404 | 409 | 413 | 415 | 422 | 502 | 503,
    /** The request body field at fault, as the client spelled it. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Not the client's fault: a dependency is away (Asterisk, PostgreSQL) or the process is stopping.
 * The same request may succeed later; the HTTP layer answers 503 with Retry-After. */
export class UnavailableError extends Error {}
