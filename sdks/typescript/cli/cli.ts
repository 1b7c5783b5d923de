#!/usr/bin/env node
/**
 * `npx @aiphone360/sdk listen --forward-to http://localhost:3000/webhooks`
 *
 * Follows the event log (`GET /events?after=…&wait=25`, a long poll) and POSTs each new event to a
 * local URL signed exactly as a real delivery is (`X-AIP-Signature` and the `X-AIP-*` headers), with a
 * `whsec_` secret made for this run and printed at start, as the Stripe CLI does. Test keys only,
 * unless `--live`. Node-only (process, node:crypto): it lives outside src/, which must stay free of
 * `node:` modules, and uses the package through its own name (dist/cjs).
 */
import { randomBytes } from "node:crypto";
import { AiPhone360, NotFoundError, signWebhook, type WebhookEvent } from "@aiphone360/sdk";

const USER_AGENT = "AIPhone360-Webhooks/1.0"; // what a real delivery sends
const FORWARD_TIMEOUT_MS = 15_000; // a real delivery's limit
const MAX_WAIT = 25;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

const USAGE = `Usage: aiphone360 listen --forward-to <url> [options]

Forward new events to a local URL, signed like real deliveries with a whsec_ secret made for this run.

Options:
  --forward-to <url>   the local URL, e.g. http://localhost:3000/webhooks (required)
  --api-key <key>      an aip_test_ key with manage:webhooks (default: $AIP_API_KEY or $AIP_KEY)
  --base-url <url>     the API's base URL (default: $AIP_BASE_URL or the production API)
  --live               allow an aip_live_ key (live events)
  --events <types>     comma-separated event types to forward (default: all)
  --max-events <n>     stop after forwarding n events (0: never)`;

function randomId(prefix: string): string {
  const bytes = randomBytes(22);
  return `${prefix}_${Array.from(bytes, (b) => ALPHABET[b % ALPHABET.length]).join("")}`;
}

export function newSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}

/** The headers of a real delivery's first attempt; the delivery id is made up for this forward. */
export function deliveryHeaders(event: WebhookEvent, body: string, secret: string): Record<string, string> {
  return {
    "Content-Type": "application/json",
    "User-Agent": USER_AGENT,
    "X-AIP-Signature": signWebhook(body, secret),
    "X-AIP-Event-Id": event.id,
    "X-AIP-Event-Type": event.type,
    "X-AIP-Delivery-Id": randomId("del"),
    "X-AIP-Attempt": "1",
    "X-AIP-Mode": event.livemode ? "live" : "test",
  };
}

interface Args {
  forwardTo: string;
  apiKey?: string;
  baseUrl?: string;
  live: boolean;
  events: string[];
  maxEvents: number;
}

function parse(argv: string[]): Args | string {
  if (argv[0] !== "listen") return USAGE;
  const args: Args = { forwardTo: "", live: false, events: [], maxEvents: 0 };
  for (let i = 1; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = (): string => {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    if (flag === "--forward-to") args.forwardTo = value();
    else if (flag === "--api-key") args.apiKey = value();
    else if (flag === "--base-url") args.baseUrl = value();
    else if (flag === "--live") args.live = true;
    else if (flag === "--events") args.events = value().split(",").filter((t) => t && t !== "*");
    else if (flag === "--max-events") args.maxEvents = Number(value());
    else if (flag === "--help" || flag === "-h") return USAGE;
    else return `error: unknown option ${flag}\n\n${USAGE}`;
  }
  if (!args.forwardTo) return `error: --forward-to is required\n\n${USAGE}`;
  if (!/^https?:\/\//.test(args.forwardTo)) return "error: --forward-to must be an http:// or https:// URL.";
  if (!Number.isInteger(args.maxEvents) || args.maxEvents < 0) return "error: --max-events must be a whole number.";
  return args;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function newestId(client: AiPhone360): Promise<string | null> {
  const page = await client.events.list({ limit: 1 });
  return page.data[0]?.id ?? null;
}

export async function main(argv: string[]): Promise<number> {
  let args: Args | string;
  try {
    args = parse(argv);
  } catch (error) {
    args = `error: ${(error as Error).message}`;
  }
  if (args === USAGE && argv.some((a) => a === "--help" || a === "-h")) {
    console.log(USAGE);
    return 0;
  }
  if (typeof args === "string") {
    console.error(args);
    return 2;
  }
  const apiKey = args.apiKey ?? process.env.AIP_API_KEY ?? process.env.AIP_KEY;
  if (!apiKey) {
    console.error("error: give --api-key or set AIP_API_KEY (an aip_test_ key with manage:webhooks).");
    return 2;
  }
  if (apiKey.startsWith("aip_live_") && !args.live) {
    console.error(
      "error: this is a live key (aip_live_): live events would be forwarded. Pass --live to do that on purpose, or use an aip_test_ key.",
    );
    return 2;
  }
  const client = new AiPhone360({ apiKey, baseUrl: args.baseUrl });
  const secret = newSecret();
  const types = new Set(args.events);
  let anchor = await newestId(client);
  console.log(`Ready! Your webhook signing secret is ${secret} (^C to quit)`);
  console.log(`Forwarding ${client.mode} events to ${args.forwardTo}`);
  let forwarded = 0;
  for (;;) {
    let events: WebhookEvent[];
    if (anchor === null) {
      // The log was empty at start: everything in it now is new.
      events = (await client.events.list({ limit: 100 })).data.reverse();
      if (events.length === 0) await sleep(1000);
    } else {
      try {
        const page = await client.events.list(
          { after: anchor, wait: MAX_WAIT, limit: 100 },
          { timeoutMs: (MAX_WAIT + 15) * 1000 },
        );
        events = page.data;
        // The server had no long-poll slot free and asked us to come back.
        if (events.length === 0 && page.lastResponse?.headers.get("retry-after")) await sleep(1000);
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
        anchor = await newestId(client); // the anchor left the 30-day log: start again from the newest
        continue;
      }
    }
    for (const event of events) {
      anchor = event.id;
      if (types.size > 0 && !types.has(event.type)) continue;
      const body = JSON.stringify(event);
      const stamp = new Date().toISOString().replace("T", " ").slice(0, 19);
      try {
        const answer = await fetch(args.forwardTo, {
          method: "POST",
          headers: deliveryHeaders(event, body, secret),
          body,
          redirect: "manual",
          signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
        });
        await answer.arrayBuffer().catch(() => undefined);
        console.log(`${stamp}  --> ${event.type} [${event.id}]  <-- [${answer.status}] POST ${args.forwardTo}`);
      } catch (error) {
        console.log(`${stamp}  --> ${event.type} [${event.id}]  <-- error: ${(error as Error).message} POST ${args.forwardTo}`);
      }
      forwarded += 1;
      if (args.maxEvents && forwarded >= args.maxEvents) return 0;
    }
  }
}

if (require.main === module) {
  process.on("SIGINT", () => process.exit(0));
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
