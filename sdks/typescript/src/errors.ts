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
