/** Shared by the tests that run against a real AI Phone 360 server (AIP_BASE_URL + AIP_KEY). */

import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface Server {
  baseUrl: string;
  key: string;
}

/** The server under test, or null (the suite is then skipped with a reason). */
export function serverFromEnv(): Server | null {
  const baseUrl = process.env.AIP_BASE_URL;
  const key = process.env.AIP_KEY;
  return baseUrl && key ? { baseUrl, key } : null;
}

export const SKIP_REASON = "set AIP_BASE_URL and AIP_KEY (a full-scope aip_test_ key) to run against a server";

export interface Exchange {
  method: string;
  url: string;
  requestHeaders: Record<string, string>;
  status: number | null; // null: the "network" dropped the response
  responseHeaders: Record<string, string>;
  sentAt: number;
  receivedAt: number;
}

/**
 * A fetch that records every exchange and can lose responses on the way back, as a flaky network
 * would: `drop(n, predicate)` makes the next n matching requests reach the server and then fail.
 */
export function recordingFetch(): {
  fetch: typeof fetch;
  log: Exchange[];
  drop: (count: number, predicate: (method: string, url: string) => boolean) => void;
} {
  const log: Exchange[] = [];
  let toDrop = 0;
  let dropPredicate: (method: string, url: string) => boolean = () => false;
  const wrapped: typeof fetch = async (input, init) => {
    const url = String(input);
    const method = init?.method ?? "GET";
    const requestHeaders = Object.fromEntries(new Headers(init?.headers).entries()); // lower-case names
    const sentAt = Date.now();
    const response = await fetch(input, init);
    const entry: Exchange = {
      method,
      url,
      requestHeaders,
      status: response.status,
      responseHeaders: Object.fromEntries(response.headers.entries()),
      sentAt,
      receivedAt: Date.now(),
    };
    log.push(entry);
    if (toDrop > 0 && dropPredicate(method, url)) {
      toDrop -= 1;
      await response.arrayBuffer();
      entry.status = null;
      throw new TypeError("fetch failed", { cause: new Error("ECONNRESET (simulated by the test)") });
    }
    return response;
  };
  return {
    fetch: wrapped,
    log,
    drop(count, predicate) {
      toDrop = count;
      dropPredicate = predicate;
    },
  };
}

export interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
}

/** A real local HTTP receiver for webhook deliveries and tool calls: records raw bytes and headers. */
export async function startReceiver(): Promise<{
  url: string;
  received: Delivery[];
  waitFor: (predicate: (d: Delivery) => boolean, timeoutMs?: number) => Promise<Delivery>;
  close: () => Promise<void>;
}> {
  const received: Delivery[] = [];
  const waiters: Array<() => void> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({ path: req.url ?? "/", headers: req.headers, rawBody: Buffer.concat(chunks) });
      waiters.splice(0).forEach((wake) => wake());
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  async function waitFor(predicate: (d: Delivery) => boolean, timeoutMs = 30_000): Promise<Delivery> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = received.find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching delivery within ${timeoutMs} ms (received ${received.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    waitFor,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const eventOf = (d: Delivery): { id: string; type: string; data: Record<string, unknown> } =>
  JSON.parse(d.rawBody.toString("utf8"));

export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** A number in the 555-01xx fictional range, different on each call within a run. */
let numberCounter = Math.floor(Math.random() * 50);
export function fictionalNumber(): string {
  numberCounter = (numberCounter + 1) % 100;
  return `+1202555${String(100 + numberCounter).padStart(4, "0")}`;
}
