/**
 * The HTTP core shared by every resource: authentication, the envelope, errors and retries.
 *
 * Retry policy: network errors, timeouts, 429 and 5xx are retried up to `maxRetries` times with
 * exponential backoff (each wait drawn between half and all of 0.5 s × 2^n, capped at 8 s); a
 * `Retry-After` header, when present, sets the wait instead (one over a minute is not waited out).
 * A 409 `IDEMPOTENCY_KEY_IN_USE` (the first try of the same POST is still running) is retried too.
 * Every POST carries an `Idempotency-Key` generated once per call and reused on its retries, so a
 * retried send can never be executed twice by an endpoint that honours the header.
 */

import { randomUUID } from "node:crypto";

import { AiPhone360Error } from "./errors.js";
import { PagePromise } from "./pagination.js";
import type { ListParams, Pagination } from "./types.js";

export const VERSION = "0.1.0";
export const DEFAULT_BASE_URL = "https://api.aiphone360.com/api/public/v1";
export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_TIMEOUT_MS = 60_000;

/** First retry waits about this long; each further retry doubles it, up to the cap below. */
const INITIAL_RETRY_DELAY_MS = 500;
const MAX_RETRY_DELAY_MS = 8_000;
/** A Retry-After longer than this is not waited out: the error is thrown for the caller to decide. */
const MAX_RETRY_AFTER_MS = 60_000;

export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE";
export type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  /** Override the generated Idempotency-Key of a POST (reuse one to make your own retries safe). */
  idempotencyKey?: string;
  /** Per-request override of the client's `maxRetries`. */
  maxRetries?: number;
  /** Per-request override of the client's `timeoutMs` (per attempt). */
  timeoutMs?: number;
  /** Abort the request (and any pending retry). */
  signal?: AbortSignal;
  /** Extra headers for this request. */
  headers?: Record<string, string>;
}

export interface CoreOptions {
  apiKey: string;
  baseUrl: string;
  maxRetries: number;
  timeoutMs: number;
  fetch: typeof fetch;
  defaultHeaders: Record<string, string>;
}

/** A response read to the end. */
interface RawResponse {
  status: number;
  statusText: string;
  headers: Headers;
  text: string;
}

interface Envelope<T> {
  success: boolean;
  data: T;
  pagination?: Pagination;
  message?: string;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(signal!));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

function abortedError(signal: AbortSignal): AiPhone360Error {
  return new AiPhone360Error({ message: "The request was aborted.", code: "ABORTED", status: 0, cause: signal.reason });
}

/** Seconds or an HTTP date, as RFC 9110 allows; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

/** How long to wait before retry number `retry` (0-based): exponential with jitter, or Retry-After. */
export function retryDelayMs(retry: number, retryAfterMs: number | null, random: () => number = Math.random): number {
  if (retryAfterMs !== null) {
    // Honour the server's wait; a little extra jitter keeps many clients from returning in lockstep.
    return retryAfterMs + Math.floor(random() * Math.min(1_000, retryAfterMs * 0.1 + 100));
  }
  const ceiling = Math.min(MAX_RETRY_DELAY_MS, INITIAL_RETRY_DELAY_MS * 2 ** retry);
  return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}

function isRetryableStatus(status: number, code: string | undefined): boolean {
  return status === 429 || status >= 500 || (status === 409 && code === "IDEMPOTENCY_KEY_IN_USE");
}

export class Core {
  constructor(protected readonly options: CoreOptions) {}

  /** One API call: the envelope's `data` (and `pagination` for lists), or an `AiPhone360Error`. */
  async request<T>(
    method: HttpMethod,
    path: string,
    init: { query?: Record<string, QueryValue>; body?: unknown } & RequestOptions = {},
  ): Promise<Envelope<T>> {
    const url = this.buildUrl(path, init.query);
    const headers: Record<string, string> = {
      Accept: "application/json",
      Authorization: `Bearer ${this.options.apiKey}`,
      "User-Agent": `aiphone360-node/${VERSION}`,
      ...this.options.defaultHeaders,
      ...init.headers,
    };
    let body: string | undefined;
    if (method === "POST" || method === "PATCH") {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(init.body ?? {});
    }
    if (method === "POST") {
      // Generated once per call, so every retry of this call presents the same key.
      headers["Idempotency-Key"] = init.idempotencyKey ?? randomUUID();
    }

    const maxRetries = init.maxRetries ?? this.options.maxRetries;
    const timeoutMs = init.timeoutMs ?? this.options.timeoutMs;
    for (let retry = 0; ; retry++) {
      let response: RawResponse;
      try {
        response = await this.fetchOnce(url, method, headers, body, timeoutMs, init.signal);
      } catch (error) {
        // Connection errors and timeouts are retried; an abort by the caller is not.
        if (!(error instanceof AiPhone360Error) || error.code === "ABORTED" || retry >= maxRetries) throw error;
        await sleep(retryDelayMs(retry, null), init.signal);
        continue;
      }
      const parsed = parseBody(response.text);
      if (response.status >= 200 && response.status < 300 && isEnvelope(parsed)) return parsed as Envelope<T>;
      const failure = errorFromResponse(response, parsed);
      if (!isRetryableStatus(response.status, failure.code) || retry >= maxRetries) throw failure;
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
      if (retryAfterMs !== null && retryAfterMs > MAX_RETRY_AFTER_MS) throw failure;
      await sleep(retryDelayMs(retry, retryAfterMs), init.signal);
    }
  }

  /** A list endpoint as a `PagePromise`: await it for one page, or `for await` it for every item. */
  list<T, P extends ListParams>(path: string, params: P, options: RequestOptions = {}): PagePromise<T, P> {
    return new PagePromise<T, P>(params, async (pageParams) => {
      const envelope = await this.request<T[]>("GET", path, { ...options, query: pageParams as unknown as Record<string, QueryValue> });
      return {
        data: envelope.data,
        pagination: envelope.pagination ?? { nextCursor: null, hasMore: false, limit: envelope.data.length },
      };
    });
  }

  protected buildUrl(path: string, query?: Record<string, QueryValue>): string {
    const url = new URL(this.options.baseUrl.replace(/\/+$/, "") + path);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    return url.toString();
  }

  private async fetchOnce(
    url: string,
    method: HttpMethod,
    headers: Record<string, string>,
    body: string | undefined,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<RawResponse> {
    if (signal?.aborted) throw abortedError(signal);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error("timeout")), timeoutMs);
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const response = await this.options.fetch(url, { method, headers, body, signal: controller.signal });
      // The body is read under the same deadline as the headers.
      const text = await response.text();
      return { status: response.status, statusText: response.statusText, headers: response.headers, text };
    } catch (error) {
      if (signal?.aborted) throw abortedError(signal);
      if (controller.signal.aborted) {
        throw new AiPhone360Error({
          message: `No response within ${timeoutMs} ms (${method} ${url}).`,
          code: "TIMEOUT",
          status: 0,
          cause: error,
        });
      }
      throw new AiPhone360Error({
        message: `Could not reach the AI Phone 360 API (${method} ${url}): ${describe(error)}`,
        code: "CONNECTION_ERROR",
        status: 0,
        cause: error,
      });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

function parseBody(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function isEnvelope(body: unknown): body is Envelope<unknown> {
  return typeof body === "object" && body !== null && (body as Envelope<unknown>).success === true && "data" in body;
}

function errorFromResponse(response: RawResponse, body: unknown): AiPhone360Error {
  const headerRequestId = response.headers.get("x-request-id");
  const error =
    typeof body === "object" && body !== null && typeof (body as { error?: unknown }).error === "object"
      ? ((body as { error: Record<string, unknown> }).error ?? {})
      : null;
  if (error) {
    return new AiPhone360Error({
      message: typeof error.message === "string" ? error.message : `HTTP ${response.status}`,
      code: typeof error.code === "string" ? error.code : `HTTP_${response.status}`,
      status: typeof error.status === "number" ? error.status : response.status,
      requestId: typeof error.requestId === "string" ? error.requestId : headerRequestId,
      fields: (error.fields as Record<string, string[]> | undefined) ?? null,
      headers: response.headers,
      body,
    });
  }
  const ok = response.status >= 200 && response.status < 300;
  return new AiPhone360Error({
    message: ok
      ? "The API answered with a body that is not the success envelope."
      : `HTTP ${response.status} ${response.statusText}`.trim(),
    code: ok ? "UNEXPECTED_RESPONSE" : `HTTP_${response.status}`,
    status: response.status,
    requestId: headerRequestId,
    headers: response.headers,
    body,
  });
}
