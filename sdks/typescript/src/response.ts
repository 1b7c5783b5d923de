/** What an HTTP answer says beyond its body: status, request id, retries, rate limit. */

export interface RateLimitInfo {
  limit: number | null;
  remaining: number | null;
  /** Unix time when the bucket is full again. */
  reset: number | null;
}

/** The HTTP answer behind a result: `result.lastResponse` (and `page.lastResponse`). */
export class ResponseInfo {
  constructor(
    readonly status: number,
    readonly headers: Headers,
    /** How many retries it took (0: the first attempt answered). */
    readonly retries: number,
    /** From the first attempt to this answer, retries and waits included. */
    readonly elapsedMs: number,
    /** The Idempotency-Key the request carried (writes only). */
    readonly idempotencyKey: string | null,
  ) {}

  /** `X-Request-Id`: quote it to support. */
  get requestId(): string | null {
    return this.headers.get("x-request-id");
  }

  /** True when the API replayed the stored answer of an earlier request with the same Idempotency-Key. */
  get idempotentReplayed(): boolean {
    return this.headers.get("idempotent-replayed") === "true";
  }

  get rateLimit(): RateLimitInfo {
    const int = (name: string): number | null => {
      const value = this.headers.get(name);
      return value !== null && /^\d+$/.test(value) ? Number(value) : null;
    };
    return { limit: int("x-ratelimit-limit"), remaining: int("x-ratelimit-remaining"), reset: int("x-ratelimit-reset") };
  }
}
