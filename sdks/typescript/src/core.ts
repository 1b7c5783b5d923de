/**
 * The HTTP core shared by every resource: authentication, the envelope, errors and retries.
 *
 * Retry policy: network errors, timeouts, 429 and 5xx are retried up to `maxRetries` times with
 * exponential backoff (each wait drawn between half and all of 0.5 s × 2^n, capped at 8 s); a
 * `Retry-After` header, when present, sets the wait instead (one over a minute is not waited out).
 * A 409 `IDEMPOTENCY_KEY_IN_USE` (the first try of the same write is still running) is retried too.
 * Every write (POST, PATCH, DELETE) carries an `Idempotency-Key` generated once per call and reused
 * on its retries; the API honours it on every write, so a retry after a lost answer gets the first
 * answer back instead of acting twice.
 *
 * Nothing here needs Node: `fetch`, `crypto.randomUUID`, `Headers` and `AbortController` are the
 * web platform's, so the SDK runs on Node, Deno, Bun and edge runtimes alike.
 */

import {
  AiPhone360Error,
  APIConnectionError,
  APITimeoutError,
  APIUserAbortError,
  errorClassFor,
} from "./errors.js";
import { PagePromise } from "./pagination.js";
import { ResponseInfo } from "./response.js";
import type { ListParams, Pagination } from "./types.js";
import { VERSION } from "./version.js";

export { VERSION };
export const DEFAULT_BASE_URL = "https://api.aiphone360.com/api/public/v1";
export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_TIMEOUT_MS = 60_000;

/** First retry waits about this long; each further retry doubles it, up to the cap below. */
const INITIAL_RETRY_DELAY_MS = 500;
const MAX_RETRY_DELAY_MS = 8_000;
/** A Retry-After longer than this is not waited out: the error is thrown for the caller to decide. */
const MAX_RETRY_AFTER_MS = 60_000;

export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE";
const WRITE_METHODS: ReadonlySet<HttpMethod> = new Set(["POST", "PATCH", "DELETE"]);
export type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  /** Override the generated Idempotency-Key of a write (reuse one to make your own retries safe). */
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

/** One line per attempt, for a `logger`: never the key. */
export interface RequestLogEntry {
  method: HttpMethod;
  path: string;
  /** The HTTP status, or 0 when no answer came. */
  status: number;
  requestId: string | null;
  /** 0 for the first attempt. */
  retry: number;
  latencyMs: number;
  /** "ok", "retrying", or the error code that ends the call. */
  outcome: string;
}

/** Anything with a `debug(message, entry)` method: `console`, pino, winston, … */
export interface Logger {
  debug(message: string, entry: RequestLogEntry): void;
}

export interface CoreOptions {
  apiKey: string;
  baseUrl: string;
  maxRetries: number;
  timeoutMs: number;
  fetch: typeof fetch;
  defaultHeaders: Record<string, string>;
  logger: Logger | null;
}

/** A result with its HTTP answer attached (non-enumerable: JSON and deep equality see only the data). */
export type WithResponse<T> = T & { readonly lastResponse: ResponseInfo; readonly requestId: string | null };

/** Attach `lastResponse` and `requestId` to an object the API returned. */
export function withResponse<T>(data: T, info: ResponseInfo): WithResponse<T> {
  if (typeof data === "object" && data !== null) {
    Object.defineProperty(data, "lastResponse", { value: info, enumerable: false, configurable: true });
    Object.defineProperty(data, "requestId", { value: info.requestId, enumerable: false, configurable: true });
  }
  return data as WithResponse<T>;
}

/** A response read to the end. */
interface RawResponse {
  status: number;
  statusText: string;
  headers: Headers;
  text: string;
}

function randomUUID(): string {
  const webCrypto = (globalThis as { crypto?: Crypto }).crypto;
  if (webCrypto?.randomUUID) return webCrypto.randomUUID();
  // RFC 4122 version 4 from getRandomValues, for runtimes without randomUUID.
  const bytes = new Uint8Array(16);
  if (webCrypto?.getRandomValues) webCrypto.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Which runtime calls: Node, Deno, Bun, or a browser-like (edge) runtime. */
export function runtimeInfo(): { runtime: string; runtimeVersion: string } {
  const g = globalThis as {
    Deno?: { version?: { deno?: string } };
    Bun?: { version?: string };
    process?: { versions?: { node?: string } };
    navigator?: { userAgent?: string };
  };
  if (g.Deno?.version?.deno) return { runtime: "deno", runtimeVersion: g.Deno.version.deno };
  if (g.Bun?.version) return { runtime: "bun", runtimeVersion: g.Bun.version };
  if (g.process?.versions?.node) return { runtime: "node", runtimeVersion: g.process.versions.node };
  return { runtime: "edge", runtimeVersion: g.navigator?.userAgent ?? "unknown" };
}

/** Which SDK, language and version is calling: the API's logs can tell an SDK bug from a caller's. */
export function telemetryHeaders(): Record<string, string> {
  const { runtime, runtimeVersion } = runtimeInfo();
  return {
    "User-Agent": `aiphone360-node/${VERSION} (${runtime} ${runtimeVersion})`,
    "X-AiPhone360-Client-User-Agent": JSON.stringify({
      bindings_version: VERSION,
      lang: "typescript",
      runtime,
      runtime_version: runtimeVersion,
      httplib: "fetch",
    }),
  };
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
  return new APIUserAbortError({ message: "The request was aborted.", code: "ABORTED", status: 0, cause: signal.reason });
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
  constructor(readonly options: CoreOptions) {}

  /** The same transport with some options changed (`withOptions`). */
  with(changes: Partial<CoreOptions>): Core {
    const defined = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
    return new Core({ ...this.options, ...defined });
  }

  /** One API call: the envelope's `data` with its HTTP answer attached. */
  async call<T>(
    method: HttpMethod,
    path: string,
    init: { query?: Record<string, QueryValue>; body?: unknown } & RequestOptions = {},
  ): Promise<WithResponse<T>> {
    const { envelope, info } = await this.request<T>(method, path, init);
    return withResponse(envelope.data, info);
  }

  /** One API call: the envelope (`data`, and `pagination` for lists) and its HTTP answer, or an `AiPhone360Error`. */
  async request<T>(
    method: HttpMethod,
    path: string,
    init: { query?: Record<string, QueryValue>; body?: unknown } & RequestOptions = {},
  ): Promise<{ envelope: Envelope<T>; info: ResponseInfo }> {
    const url = this.buildUrl(path, init.query);
    // Headers are case-insensitive: a caller's `idempotency-key` replaces the generated one, never joins it.
    const headers = new Headers({ Accept: "application/json", ...telemetryHeaders() });
    for (const [name, value] of Object.entries(this.options.defaultHeaders)) headers.set(name, value);
    for (const [name, value] of Object.entries(init.headers ?? {})) headers.set(name, value);
    headers.set("Authorization", `Bearer ${this.options.apiKey}`);
    let body: string | undefined;
    if (method === "POST" || method === "PATCH") {
      headers.set("Content-Type", "application/json");
      body = JSON.stringify(init.body ?? {});
    }
    let idempotencyKey: string | null = null;
    if (WRITE_METHODS.has(method)) {
      // Generated once per call, so every retry of this call presents the same key.
      idempotencyKey = init.idempotencyKey ?? headers.get("idempotency-key") ?? randomUUID();
      headers.set("Idempotency-Key", idempotencyKey);
    }

    const maxRetries = init.maxRetries ?? this.options.maxRetries;
    const timeoutMs = init.timeoutMs ?? this.options.timeoutMs;
    const started = Date.now();
    const logPath = new URL(url).pathname;
    for (let retry = 0; ; retry++) {
      const attemptStarted = Date.now();
      const log = (status: number, requestId: string | null, outcome: string): void => {
        const entry = { method, path: logPath, status, requestId, retry, latencyMs: Date.now() - attemptStarted, outcome };
        this.options.logger?.debug(
          `${method} ${logPath} -> ${status || "no answer"} ${outcome} (request ${requestId ?? "-"}, retry ${retry}, ${entry.latencyMs} ms)`,
          entry,
        );
      };
      let response: RawResponse;
      try {
        response = await this.fetchOnce(url, method, headers, body, timeoutMs, init.signal);
      } catch (error) {
        // Connection errors and timeouts are retried; an abort by the caller is not.
        const final = !(error instanceof AiPhone360Error) || error.code === "ABORTED" || retry >= maxRetries;
        log(0, null, final ? (error instanceof AiPhone360Error ? error.code : "ERROR") : "retrying");
        if (final) throw error;
        await sleep(retryDelayMs(retry, null), init.signal);
        continue;
      }
      const parsed = parseBody(response.text);
      if (response.status >= 200 && response.status < 300 && isEnvelope(parsed)) {
        const info = new ResponseInfo(response.status, response.headers, retry, Date.now() - started, idempotencyKey);
        log(response.status, info.requestId, "ok");
        return { envelope: parsed as Envelope<T>, info };
      }
      const failure = errorFromResponse(response, parsed);
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
      const final =
        !isRetryableStatus(response.status, failure.code) ||
        retry >= maxRetries ||
        (retryAfterMs !== null && retryAfterMs > MAX_RETRY_AFTER_MS);
      log(response.status, failure.requestId, final ? failure.code : "retrying");
      if (final) throw failure;
      await sleep(retryDelayMs(retry, retryAfterMs), init.signal);
    }
  }

  /** A list endpoint as a `PagePromise`: await it for one page, or `for await` it for every item. */
  list<T, P extends ListParams>(path: string, params: P, options: RequestOptions = {}): PagePromise<T, P> {
    return new PagePromise<T, P>(params, async (pageParams) => {
      const { envelope, info } = await this.request<T[]>("GET", path, {
        ...options,
        query: pageParams as unknown as Record<string, QueryValue>,
      });
      return {
        data: envelope.data,
        pagination: envelope.pagination ?? { nextCursor: null, hasMore: false, limit: envelope.data.length },
        lastResponse: info,
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
    headers: Headers,
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
        throw new APITimeoutError({
          message: `No response within ${timeoutMs} ms (${method} ${url}).`,
          code: "TIMEOUT",
          status: 0,
          cause: error,
        });
      }
      throw new APIConnectionError({
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
    const status = typeof error.status === "number" ? error.status : response.status;
    const ErrorClass = errorClassFor(status);
    return new ErrorClass({
      message: typeof error.message === "string" ? error.message : `HTTP ${response.status}`,
      code: typeof error.code === "string" ? error.code : `HTTP_${response.status}`,
      status,
      requestId: typeof error.requestId === "string" ? error.requestId : headerRequestId,
      fields: (error.fields as Record<string, string[]> | undefined) ?? null,
      headers: response.headers,
      body,
    });
  }
  const ok = response.status >= 200 && response.status < 300;
  const ErrorClass = ok ? AiPhone360Error : errorClassFor(response.status);
  return new ErrorClass({
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
