/**
 * The JSON shapes of the AI Phone 360 public API, exactly as they travel on the wire (camelCase).
 *
 * Timestamps are ISO 8601 strings in UTC ("2026-06-28T20:00:00Z"); money amounts are decimal
 * strings ("0.40") so no precision is lost to floating point.
 */

import type { WebhookEvent, WebhookEventType } from "./generated/openapi.js";

export type Mode = "live" | "test";

/** The `pagination` block of every list response. */
export interface Pagination {
  /** Pass as `cursor` to fetch the next page; `null` on the last page. */
  nextCursor: string | null;
  hasMore: boolean;
  limit: number;
}

export interface ListParams {
  /** 1–100, default 25. */
  limit?: number;
  cursor?: string;
}

// --- Calls -------------------------------------------------------------------------------------

export type CallDirection = "inbound" | "outbound";
export type CallStatus = "in_progress" | "completed" | "missed" | "voicemail" | "failed";
export type CallOutcome =
  | "appointment_booked"
  | "question_answered"
  | "message_taken"
  | "transferred"
  | "voicemail"
  | "spam"
  | "abandoned";

export interface ContactRef {
  id: string;
  name: string | null;
  phoneNumber: string;
}

export interface Call {
  id: string;
  direction: CallDirection;
  from: string;
  to: string;
  status: CallStatus;
  startedAt: string;
  endedAt: string | null;
  durationSeconds: number | null;
  summary: string | null;
  outcome: CallOutcome | null;
  contact: ContactRef | null;
  /** The AI agent that handled the call (the greeter or a specialist), when known. */
  agent: { id: string | null; name: string } | null;
  hasTranscript: boolean;
  hasRecording: boolean;
}

export interface Voicemail {
  id: string;
  callId: string;
  from: string;
  transcription: string | null;
  durationSeconds: number;
  createdAt: string;
}

export interface Appointment {
  id: string;
  status: "booked" | "cancelled";
  service: string;
  startsAt: string;
  durationMinutes: number;
  contact: ContactRef;
  callId: string | null;
  notes: string | null;
  createdAt: string;
}

export interface CallDetail extends Call {
  voicemail: Voicemail | null;
  appointments: Appointment[];
}

export interface CallListParams extends ListParams {
  direction?: CallDirection;
  /** `today`, `7d`, `30d`, `90d`, or `FROM,TO` (ISO dates or datetimes, inclusive, business time zone). */
  dateRange?: string;
  /** Caller/callee number in any common format, contact name or summary text. */
  search?: string;
}

export interface TranscriptTurn {
  speaker: "agent" | "caller" | "staff";
  text: string;
  offsetMs: number;
}

export interface Transcript {
  callId: string;
  turns: TranscriptTurn[];
}

export interface Recording {
  callId: string;
  recordingId: string;
  /** A signed URL that needs no API key and stops working at `expiresAt`. */
  url: string;
  expiresAt: string;
  contentType: string;
  durationSeconds: number;
  sizeBytes: number;
}

// --- Contacts ----------------------------------------------------------------------------------

export interface Contact {
  id: string;
  /** E.164, e.g. "+15555550123". */
  phoneNumber: string;
  name: string | null;
  email: string | null;
  company: string | null;
  smsOptedOut: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface ContactListParams extends ListParams {
  search?: string;
}

export interface ContactCreateParams {
  /** Any common format; stored as E.164 (default region: the business's country). */
  phoneNumber: string;
  name?: string | null;
  email?: string | null;
  company?: string | null;
}

export type ContactUpdateParams = Partial<ContactCreateParams>;

// --- Messages (SMS) ----------------------------------------------------------------------------

export interface SmsSendParams {
  to: string;
  /** 1–1,600 characters. */
  body: string;
}

export interface Message {
  id: string;
  direction: "inbound" | "outbound";
  from: string;
  to: string;
  body: string;
  encoding: "GSM-7" | "UCS-2";
  segments: number;
  status: MessageStatus;
  mode: Mode;
  /** True for a test-mode send: validated and checked, never sent, never charged. */
  test: boolean;
  /** Why the carrier refused or could not deliver it; `code` is the carrier's. */
  error: { code: string; message: string } | null;
  /** Null once the contact was erased. */
  contactId: string | null;
  createdAt: string;
  sentAt: string | null;
  deliveredAt: string | null;
  statusUpdatedAt: string;
}

// --- issue 18: message history, knowledge bases ------------------------------------------------

/** queued → sent → delivered | failed | undelivered (never backwards); inbound texts are `received`. */
export type MessageStatus = "queued" | "sent" | "delivered" | "failed" | "undelivered" | "received";

export interface MessageListParams extends ListParams {
  direction?: CallDirection;
  status?: MessageStatus;
  /** The other party's number, in any common format. */
  phoneNumber?: string;
  /** `today`, `7d`, `30d`, `90d`, or `FROM,TO` (ISO dates or datetimes, inclusive, business time zone). */
  dateRange?: string;
}

export interface KnowledgeBase {
  id: string;
  name: string;
  description: string | null;
  documentCount: number;
  createdAt: string;
  /** The last change to the base or any of its documents. */
  updatedAt: string;
}

// --- end of issue 18 additions -------------------------------------------------------------------

// --- AI config ---------------------------------------------------------------------------------

export type Language =
  | "en-US"
  | "en-GB"
  | "en-AU"
  | "en-CA"
  | "en-IE"
  | "en-NZ"
  | "es-US"
  | "es-ES"
  | "es-MX"
  | "fr-FR"
  | "fr-CA"
  | "de-DE"
  | "it-IT"
  | "nl-NL"
  | "pt-BR"
  | "pt-PT"
  | "pl-PL"
  | "sv-SE"
  | "da-DK"
  | "nb-NO"
  | "fi-FI"
  | "ja-JP"
  | "ko-KR"
  | "zh-CN"
  | "hi-IN";
export type CallHandlingMode = "ai_first" | "forward_first" | "after_hours_only";
export type Weekday = "monday" | "tuesday" | "wednesday" | "thursday" | "friday" | "saturday" | "sunday";
export interface OpeningInterval {
  /** "HH:MM" */
  open: string;
  close: string;
}
export type BusinessHours = Partial<Record<Weekday, OpeningInterval[]>>;

export interface AiConfig {
  /** BCP-47, e.g. "en-US". */
  language: Language;
  /** IANA time zone, e.g. "America/New_York". */
  timezone: string;
  callHandlingMode: CallHandlingMode;
  greeting: string;
  businessHours: BusinessHours;
  voicemailEnabled: boolean;
  smsHelpReply: string | null;
  /** Equal start and end turn quiet hours off. */
  smsQuietHours: { start: string; end: string };
  updatedAt: string;
}

export type AiConfigUpdateParams = Partial<Omit<AiConfig, "updatedAt">>;

// --- Webhooks ----------------------------------------------------------------------------------

// The event types and the event union come from the OpenAPI document (src/generated/openapi.ts).
export type { EventOfType, WebhookEvent, WebhookEventType } from "./generated/openapi.js";
export type {
  AppointmentBookedEvent,
  CallCompletedEvent,
  CallStartedEvent,
  ContactCreatedEvent,
  ContactUpdatedEvent,
  ContactDeletedEvent,
  SmsReceivedEvent,
  SmsSentEvent,
  SmsStatusUpdatedEvent,
  TranscriptReadyEvent,
  VoicemailCreatedEvent,
  WebhookTestEvent,
} from "./generated/openapi.js";

/** What an endpoint can subscribe to (`webhook.test` is sent only by the test button, to one endpoint). */
export type SubscribableEventType = Exclude<WebhookEventType, "webhook.test">;

export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string;
  events: Array<SubscribableEventType | "*">;
  /** The events it receives: live, test or both. */
  modes: Array<"live" | "test">;
  enabled: boolean;
  disabledAt: string | null;
  disabledReason: string | null;
  lastAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  lastSuccessAt: string | null;
  failingSince: string | null;
  disablesAt: string | null;
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
  /** Present on list and get. */
  attempts24h?: number;
  successRate24h?: number | null;
}

/** Returned by create and rotateSecret: the `whsec_…` signing secret, shown only this once. */
export interface WebhookEndpointWithSecret extends WebhookEndpoint {
  secret: string;
}

export interface WebhookCreateParams {
  /** Public https URL. */
  url: string;
  /** Event types, or `["*"]` for all. */
  events: Array<SubscribableEventType | "*">;
  description?: string | null;
  /** `["live"]`, `["test"]` or both (the default). */
  modes?: Array<"live" | "test">;
}

export interface WebhookUpdateParams {
  url?: string;
  events?: Array<SubscribableEventType | "*">;
  description?: string | null;
  enabled?: boolean;
  modes?: Array<"live" | "test">;
}

export type SecretOverlap = "now" | "1h" | "24h" | "3d" | "7d";

export type DeliveryStatus = "pending" | "held" | "succeeded" | "failed" | "expired";

export interface WebhookDelivery {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: WebhookEventType;
  livemode: boolean;
  status: DeliveryStatus;
  statusReason: string | null;
  attemptCount: number;
  lastResponseStatus: number | null;
  nextAttemptAt: string | null;
  heldSince: string | null;
  replayOf: string | null;
  createdAt: string;
  completedAt: string | null;
}

export interface WebhookAttempt {
  id: string;
  number: number;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  succeeded: boolean;
  errorClass: string | null;
  errorMessage: string | null;
  request: { url: string; headers: Record<string, string>; body: string };
  response: { status: number | null; headers: Record<string, string>; bodyExcerpt: string };
}

export interface WebhookDeliveryDetail extends WebhookDelivery {
  event: WebhookEvent;
  attempts: WebhookAttempt[];
}

export interface DeliveryListParams extends ListParams {
  status?: DeliveryStatus;
  eventType?: WebhookEventType;
  /** ISO 8601 date-time, inclusive. */
  from?: string;
  /** ISO 8601 date-time, exclusive. */
  to?: string;
}

export interface WebhookTestResult {
  succeeded: boolean;
  delivery: WebhookDelivery;
  attempt: WebhookAttempt | null;
}

export interface WebhookRecoverResult {
  count: number;
  deliveries: WebhookDelivery[];
}

export interface DeletedObject {
  id: string;
  deleted: boolean;
}

// --- API keys ----------------------------------------------------------------------------------

export type Scope =
  | "read:calls"
  | "read:transcripts"
  | "read:recordings"
  | "read:contacts"
  | "write:contacts"
  | "write:sms"
  | "read:usage"
  | "manage:config"
  | "manage:webhooks"
  | "manage:tools"
  | "manage:agents";

export interface ApiKey {
  id: string;
  name: string;
  mode: Mode;
  /** e.g. "aip_test_…a1b2"; the full key is never shown again after creation. */
  maskedKey: string;
  scopes: Scope[];
  status: "active" | "expiring" | "expired" | "revoked";
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

export interface ApiKeyWithSecret extends ApiKey {
  /** The full key: shown only once. */
  secret: string;
}

export interface ApiKeyRotated extends ApiKeyWithSecret {
  rotatedFrom: { id: string; expiresAt: string };
}

export interface ApiKeyCreateParams {
  name: string;
  mode: Mode;
  scopes: Scope[];
  expiresAt?: string | null;
}

export type GracePeriod = "now" | "1h" | "24h" | "3d" | "7d";

// --- Custom tools ------------------------------------------------------------------------------

/** How AI Phone 360 authenticates to your tool endpoint. Secrets are write-only. */
export type ToolAuthParams =
  | { type: "none" }
  | { type: "bearer"; token: string }
  | { type: "header"; headerName: string; value: string }
  | { type: "basic"; username: string; password: string };

/** The auth block as returned by the API: the secret part (token, value, password) only masked. */
export type ToolAuth =
  | { type: "none" }
  | { type: "bearer"; token: string }
  | { type: "header"; headerName: string; value: string }
  | { type: "basic"; username: string; password: string };

export type ToolInvocationStatus = "succeeded" | "failed" | "rejected" | "refused";

export interface Tool {
  id: string;
  /** snake_case, unique per business. */
  name: string;
  description: string;
  /** A JSON Schema with an object at the top. */
  inputSchema: Record<string, unknown>;
  endpointUrl: string;
  auth: ToolAuth;
  /** 1–10, default 10. */
  timeoutSeconds: number;
  enabled: boolean;
  lastInvokedAt: string | null;
  lastInvocationStatus: ToolInvocationStatus | null;
  createdAt: string;
  updatedAt: string;
}

export interface ToolCreateParams {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  endpointUrl: string;
  auth?: ToolAuthParams;
  timeoutSeconds?: number;
  enabled?: boolean;
}

export type ToolUpdateParams = Partial<ToolCreateParams>;

// --- Agents ------------------------------------------------------------------------------------

// Fields the OpenAPI document does not mark required are optional here too (test/openapi-types.test.ts).
export interface AgentTools {
  /** Empty: the agent may use all of your custom tools. */
  useCustomToolIds?: string[];
  allowPayments?: boolean;
  allowBooking?: boolean;
  allowTransfer?: boolean;
  allowKnowledgeSearch?: boolean;
}

export interface Agent {
  id: string;
  /** Lowercase id, unique per business. */
  agentKey: string;
  displayName: string;
  instructions: string;
  matchHints?: string[];
  tools?: AgentTools;
  /** Empty: all business knowledge. */
  knowledgeBaseIds?: string[];
  isDefault?: boolean;
  enabled?: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface AgentCreateParams {
  agentKey: string;
  displayName: string;
  /** The specialist's focused role (required by the API). */
  instructions: string;
  matchHints?: string[];
  tools?: Partial<AgentTools>;
  knowledgeBaseIds?: string[];
  isDefault?: boolean;
  enabled?: boolean;
}

export type AgentUpdateParams = Partial<AgentCreateParams>;

// --- Data-collection fields --------------------------------------------------------------------

export type DataFieldType = "text" | "number" | "date" | "email" | "phone" | "choice";

export interface DataField {
  id: string;
  key: string;
  label: string;
  type?: DataFieldType;
  /** Only for `choice`. */
  choices?: string[];
  required?: boolean;
  /** Ties the field to one specialist agent; null: collected by any agent. */
  agentId?: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface DataFieldCreateParams {
  key: string;
  label: string;
  type: DataFieldType;
  choices?: string[];
  required?: boolean;
  agentId?: string | null;
}

export type DataFieldUpdateParams = Partial<DataFieldCreateParams>;

export interface DataFieldListParams extends ListParams {
  /** Only the fields tied to this agent. */
  agentId?: string;
}

// --- Usage -------------------------------------------------------------------------------------

export type Metric = "api_requests" | "webhook_attempts" | "tool_invocations" | "sms_segments";

export interface UsageLine {
  metric: Metric;
  quantity: number;
  /** Decimal string in `currency`. */
  charges: string;
}

export interface ModeUsage {
  charges: string;
  byMetric: UsageLine[];
  /** One row per key, then "Dashboard" and "System" (`keyId: null`) for usage no key caused. */
  byKey: Array<{
    keyId: string | null;
    name: string;
    maskedKey: string | null;
    source: "api" | "dashboard" | "system";
    charges: string;
    metrics: UsageLine[];
  }>;
  byDay: Array<{ date: string; charges: string; metrics: UsageLine[] }>;
}

export interface Usage {
  from: string;
  to: string;
  currency: string;
  live: ModeUsage;
  /** Counted for visibility, never charged. */
  test: ModeUsage;
  freeQuota: {
    month: string;
    plan: string | null;
    metrics: Array<{
      metric: Metric;
      included: number;
      used: number;
      remaining: number;
      unitSize: number;
      unitPrice: string;
    }>;
  };
  wallet: { balance: string; monthToDateSpend: string };
  /** The billing month is the calendar month in UTC; its bounds also in the business's time zone. */
  billingPeriod: {
    /** Always "UTC". */
    timeZone: string;
    start: string;
    end: string;
    localTimeZone: string;
    localStart: string;
    localEnd: string;
    billableRequests: string;
  };
}

export interface UsageParams {
  /** ISO date (YYYY-MM-DD), inclusive; default: first day of this month (UTC). */
  from?: string;
  /** ISO date, inclusive; default: today (UTC). */
  to?: string;
}

// --- Event log (GET /events) ---------------------------------------------------------------------

/** `events.list`: newest first with `cursor`, or with `after` the events after that one, oldest first. */
export interface EventListParams extends ListParams {
  type?: SubscribableEventType;
  /** ISO 8601 date-time, inclusive. */
  from?: string;
  /** ISO 8601 date-time, exclusive. */
  to?: string;
  /** An `evt_…` id of the log: the events after it, oldest first (one page; continue with the last id). */
  after?: string;
  /** With `after`: seconds (0–25) to wait for a first event (long poll). */
  wait?: number;
}

/** `events.get`: the event with each endpoint's delivery of it (replays included), oldest first. */
export type EventWithDeliveries = WebhookEvent & { deliveries: WebhookDelivery[] };
