import { Core, DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS, type Logger } from "./core.js";
import { Calls } from "./resources/calls.js";
import { Config } from "./resources/config.js";
import { Contacts } from "./resources/contacts.js";
import { CrudResource } from "./resources/crud.js";
import { Events } from "./resources/events.js";
import { Keys } from "./resources/keys.js";
import { Sms } from "./resources/sms.js";
import { Messages } from "./resources/messages.js";
import { KnowledgeBases } from "./resources/knowledge-bases.js";
import { UsageResource } from "./resources/usage.js";
import { Webhooks } from "./resources/webhooks.js";
import type {
  Agent,
  AgentCreateParams,
  AgentUpdateParams,
  DataField,
  DataFieldCreateParams,
  DataFieldListParams,
  DataFieldUpdateParams,
  Mode,
  Tool,
  ToolCreateParams,
  ToolUpdateParams,
  WebhookEvent,
} from "./types.js";
import { verifyWebhook, verifyWebhookAsync, type VerifyWebhookOptions } from "./webhooks.js";

export interface ClientOptions {
  /** An `aip_live_…` or `aip_test_…` key. Default: the `AIP_KEY` environment variable. */
  apiKey?: string | undefined;
  /** Default: https://api.aiphone360.com/api/public/v1 (or the `AIP_BASE_URL` environment variable). */
  baseUrl?: string;
  /** Retries of network errors, timeouts, 429 and 5xx. Default 3; 0 turns retries off. */
  maxRetries?: number;
  /** Per-attempt timeout in milliseconds. Default 60,000. */
  timeoutMs?: number;
  /** A fetch implementation (default: the global fetch of Node ≥ 18). */
  fetch?: typeof fetch;
  /** Headers sent with every request. */
  defaultHeaders?: Record<string, string>;
  /**
   * Receives one line per attempt (method, path, status, request id, retry count, latency; never
   * the key) at `debug`. `console` works, as do pino and winston loggers.
   */
  logger?: Logger;
  /** Log every request to `console.debug` (the same as `logger: console`); or set `AIP_LOG=debug`. */
  debug?: boolean;
}

/** What `withOptions` may change: everything but the key and the base URL. */
export type ClientOverrides = Pick<ClientOptions, "maxRetries" | "timeoutMs" | "fetch" | "defaultHeaders" | "logger">;

/** `process.env` where there is one (Node, Bun); nothing on Deno without --allow-env or on edge runtimes. */
function env(name: string): string | undefined {
  const processLike = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return processLike?.env?.[name];
}

const KEY_PREFIXES: Record<string, Mode> = { aip_live_: "live", aip_test_: "test" };

export class AiPhone360 {
  /** `live` or `test`, from the key's prefix. Test keys never bill and never send real SMS. */
  readonly mode: Mode;
  readonly baseUrl: string;

  readonly calls: Calls;
  readonly contacts: Contacts;
  readonly sms: Sms;
  readonly config: Config;
  readonly webhooks: Webhooks;
  readonly keys: Keys;
  readonly tools: CrudResource<Tool, ToolCreateParams, ToolUpdateParams>;
  readonly agents: CrudResource<Agent, AgentCreateParams, AgentUpdateParams>;
  readonly dataFields: CrudResource<DataField, DataFieldCreateParams, DataFieldUpdateParams, DataFieldListParams>;
  readonly usage: UsageResource;
  /** The event log (issue 18): browse it, or follow it with a long poll. */
  readonly events: Events;
  /** Message history (issue 18). */
  readonly messages: Messages;
  /** Knowledge bases, read-only (issue 18). */
  readonly knowledgeBases: KnowledgeBases;
  private readonly core: Core;

  /** @param core internal: the transport `withOptions` hands over. */
  constructor(options: ClientOptions = {}, core?: Core) {
    if (core) {
      // withOptions: the same key, mode and base URL on a transport with other options.
      this.mode = core.options.apiKey.startsWith("aip_live_") ? "live" : "test";
      this.baseUrl = core.options.baseUrl;
      this.core = core;
      this.calls = new Calls(core);
      this.contacts = new Contacts(core);
      this.sms = new Sms(core);
      this.config = new Config(core);
      this.webhooks = new Webhooks(core);
      this.keys = new Keys(core);
      this.tools = new CrudResource(core, "/tools");
      this.agents = new CrudResource(core, "/agents");
      this.dataFields = new CrudResource(core, "/data-fields");
      this.usage = new UsageResource(core);
      this.events = new Events(core);
      this.messages = new Messages(core);
      this.knowledgeBases = new KnowledgeBases(core);
      return;
    }
    const apiKey = options.apiKey ?? env("AIP_KEY");
    if (!apiKey) {
      throw new TypeError("An API key is required: new AiPhone360({ apiKey: 'aip_live_…' }) or set AIP_KEY.");
    }
    const prefix = Object.keys(KEY_PREFIXES).find((p) => apiKey.startsWith(p));
    if (!prefix) {
      throw new TypeError("The API key must start with aip_live_ or aip_test_ (copy it whole from Settings → Developer).");
    }
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== "function") {
      throw new TypeError("No fetch implementation: use Node 18 or later, or pass { fetch }.");
    }
    this.mode = KEY_PREFIXES[prefix]!;
    this.baseUrl = (options.baseUrl ?? env("AIP_BASE_URL") ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    const debug = options.debug || env("AIP_LOG")?.toLowerCase() === "debug";
    const created = new Core({
      apiKey,
      baseUrl: this.baseUrl,
      maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      // A fetch called unbound throws "Illegal invocation" on some runtimes.
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      defaultHeaders: options.defaultHeaders ?? {},
      logger: options.logger ?? (debug ? console : null),
    });
    core = created;
    this.core = created;
    this.calls = new Calls(core);
    this.contacts = new Contacts(core);
    this.sms = new Sms(core);
    this.config = new Config(core);
    this.webhooks = new Webhooks(core);
    this.keys = new Keys(core);
    this.tools = new CrudResource(core, "/tools");
    this.agents = new CrudResource(core, "/agents");
    this.dataFields = new CrudResource(core, "/data-fields");
    this.usage = new UsageResource(core);
    this.events = new Events(core);
    this.messages = new Messages(core);
    this.knowledgeBases = new KnowledgeBases(core);
  }

  /**
   * A client with some options changed that shares this one's key:
   * `client.withOptions({ maxRetries: 0, timeoutMs: 5_000 }).sms.send(…)`. Headers are merged.
   */
  withOptions(overrides: ClientOverrides): AiPhone360 {
    const headers = overrides.defaultHeaders
      ? { ...this.core.options.defaultHeaders, ...overrides.defaultHeaders }
      : undefined;
    return new AiPhone360({}, this.core.with({ ...overrides, defaultHeaders: headers }));
  }

  /**
   * Verify a webhook delivery and return its event. Pass the RAW body (string or bytes), the
   * `X-AIP-Signature` header and the endpoint's `whsec_…` secret. Throws `WebhookVerificationError`
   * for a bad or missing signature, or a timestamp older than 5 minutes.
   */
  static verifyWebhook<TEvent = WebhookEvent>(
    rawBody: string | Uint8Array,
    signatureHeader: string | string[] | null | undefined,
    secret: string | null | undefined,
    options?: VerifyWebhookOptions,
  ): TEvent {
    return verifyWebhook<TEvent>(rawBody, signatureHeader, secret, options);
  }

  /** `verifyWebhook` on Web Crypto: for Deno, Bun, Cloudflare Workers and other edge runtimes. */
  static verifyWebhookAsync<TEvent = WebhookEvent>(
    rawBody: string | Uint8Array,
    signatureHeader: string | string[] | null | undefined,
    secret: string | null | undefined,
    options?: VerifyWebhookOptions,
  ): Promise<TEvent> {
    return verifyWebhookAsync<TEvent>(rawBody, signatureHeader, secret, options);
  }
}
