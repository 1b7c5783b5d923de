/**
 * Every failure the SDK reports is an `AiPhone360Error`: API errors carry the API's stable `code`
 * and HTTP `status`; transport failures use `CONNECTION_ERROR` / `TIMEOUT` with status 0.
 */

export interface AiPhone360ErrorInit {
  message: string;
  code: string;
  status: number;
  requestId?: string | null;
  fields?: Record<string, string[]> | null;
  headers?: Headers | null;
  body?: unknown;
  cause?: unknown;
}

export class AiPhone360Error extends Error {
  /** The API's stable machine code, e.g. `INSUFFICIENT_SCOPE`, `RATE_LIMIT_EXCEEDED`. */
  readonly code: string;
  /** The HTTP status; 0 when no response was received. */
  readonly status: number;
  /** The request id to give support (from `error.requestId` or the `X-Request-Id` header). */
  readonly requestId: string | null;
  /** For `VALIDATION_ERROR`: each bad field with its messages. */
  readonly fields: Record<string, string[]> | null;
  /** The response headers, when there was a response. */
  readonly headers: Headers | null;
  /** The parsed response body (or its text), when there was a response. */
  readonly body: unknown;

  constructor(init: AiPhone360ErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "AiPhone360Error";
    this.code = init.code;
    this.status = init.status;
    this.requestId = init.requestId ?? null;
    this.fields = init.fields ?? null;
    this.headers = init.headers ?? null;
    this.body = init.body;
  }
}

/** Thrown by `AiPhone360.verifyWebhook` when a delivery must not be trusted; answer it with 400. */
export class WebhookVerificationError extends AiPhone360Error {
  constructor(message: string) {
    super({ message, code: "WEBHOOK_SIGNATURE_INVALID", status: 400 });
    this.name = "WebhookVerificationError";
  }
}

/** The API answered with an error status; the subclasses below name each kind. */
export class APIStatusError extends AiPhone360Error {
  constructor(init: AiPhone360ErrorInit) {
    super(init);
    this.name = new.target.name;
  }
}

/** 400 `VALIDATION_ERROR`: `fields` maps each bad field (dotted path) to what is wrong. */
export class ValidationError extends APIStatusError {}
/** 401 `API_KEY_REQUIRED` or `INVALID_API_KEY`: the key is missing, unknown, revoked or expired. */
export class AuthenticationError extends APIStatusError {}
/** 402: `code` is the access gate's reason: `SUBSCRIPTION_REQUIRED`, `PLATFORM_ADDON_REQUIRED` or `INSUFFICIENT_CREDITS`. */
export class PaymentRequiredError extends APIStatusError {}
/** 403 `INSUFFICIENT_SCOPE` or `BUSINESS_SUSPENDED`. */
export class PermissionDeniedError extends APIStatusError {}
/** 404 `RESOURCE_NOT_FOUND`. */
export class NotFoundError extends APIStatusError {}
/** 409 or 422: a conflict with the state of things (`IDEMPOTENCY_KEY_IN_USE`, `IDEMPOTENCY_KEY_REUSED`, `QUIET_HOURS`, …). */
export class ConflictError extends APIStatusError {}
/** 429 `RATE_LIMIT_EXCEEDED`; `retryAfter` is the seconds the API asked to wait (null when it did not say). */
export class RateLimitError extends APIStatusError {
  get retryAfter(): number | null {
    const value = this.headers?.get("retry-after")?.trim();
    if (!value) return null;
    if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
    const date = Date.parse(value); // Retry-After may also be an HTTP date
    return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
  }
}
/** 5xx: the API (or a gateway in front of it) failed; retried automatically before it is thrown. */
export class InternalServerError extends APIStatusError {}

/** No answer: the connection failed (`CONNECTION_ERROR`, status 0). */
export class APIConnectionError extends AiPhone360Error {
  constructor(init: AiPhone360ErrorInit) {
    super(init);
    this.name = new.target.name;
  }
}
/** No answer within `timeoutMs` (`TIMEOUT`, status 0). */
export class APITimeoutError extends APIConnectionError {}
/** The caller's `signal` aborted the request (`ABORTED`, status 0); never retried. */
export class APIUserAbortError extends AiPhone360Error {
  constructor(init: AiPhone360ErrorInit) {
    super(init);
    this.name = "APIUserAbortError";
  }
}

/** The subclass for an HTTP error status. */
export function errorClassFor(status: number): new (init: AiPhone360ErrorInit) => AiPhone360Error {
  if (status >= 500) return InternalServerError;
  switch (status) {
    case 400:
      return ValidationError;
    case 401:
      return AuthenticationError;
    case 402:
      return PaymentRequiredError;
    case 403:
      return PermissionDeniedError;
    case 404:
      return NotFoundError;
    case 409:
    case 422:
      return ConflictError;
    case 429:
      return RateLimitError;
    default:
      return APIStatusError;
  }
}
