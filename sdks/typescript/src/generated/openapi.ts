// Generated from the API's OpenAPI document by scripts/openapi_to_ts.py: do not edit.
// AI Phone 360 public API 1.0.0
/* eslint-disable */

export interface components {
  schemas: {
    Agent: {
      /** Lowercase id, unique per business and mode. */
      agentKey: string;
      displayName: string;
      /** The specialist's focused role. */
      instructions: string;
      /** Caller-intent phrases the greeter routes on. */
      matchHints?: Array<string>;
      tools?: components["schemas"]["AgentTools"];
      /** RAG scope; empty: all business knowledge. */
      knowledgeBaseIds?: Array<string>;
      /** The greeter; making one default unsets the previous one. */
      isDefault?: boolean;
      enabled?: boolean;
      /** Opaque id, `agt_…`. */
      id: string;
      createdAt: string;
      updatedAt: string;
    };
    AgentTools: {
      /** Tools of the key's mode. Empty: the agent may use all of the business's custom tools of its mode. */
      useCustomToolIds?: Array<string>;
      allowPayments?: boolean;
      allowBooking?: boolean;
      allowTransfer?: boolean;
      allowKnowledgeSearch?: boolean;
    };
    AgentToolsRequest: {
      /** Tools of the key's mode. Empty: the agent may use all of the business's custom tools of its mode. */
      useCustomToolIds?: Array<string>;
      allowPayments?: boolean;
      allowBooking?: boolean;
      allowTransfer?: boolean;
      allowKnowledgeSearch?: boolean;
    };
    AgentWriteRequest: {
      /** Lowercase id, unique per business and mode. */
      agentKey: string;
      displayName: string;
      /** The specialist's focused role. */
      instructions: string;
      /** Caller-intent phrases the greeter routes on. */
      matchHints?: Array<string>;
      tools?: components["schemas"]["AgentToolsRequest"];
      /** RAG scope; empty: all business knowledge. */
      knowledgeBaseIds?: Array<string>;
      /** The greeter; making one default unsets the previous one. */
      isDefault?: boolean;
      enabled?: boolean;
    };
    AiConfig: {
      /** BCP-47 tag the AI speaks. * `en-US` - en-US * `en-GB` - en-GB * `en-AU` - en-AU * `en-CA` - en-CA * `en-IE` - en-IE * `en-NZ` - en-NZ * `es-US` - es-US * `es-ES` - es-ES * `es-MX` - es-MX * `fr-FR` - fr-FR * `fr-CA` - fr-CA * `de-DE` - de-DE * `it-IT` - it-IT * `nl-NL` - nl-NL * `pt-BR` - pt-BR * `pt-PT` - pt-PT * `pl-PL` - pl-PL * `sv-SE` - sv-SE * `da-DK` - da-DK * `nb-NO` - nb-NO * `fi-FI` - fi-FI * `ja-JP` - ja-JP * `ko-KR` - ko-KR * `zh-CN` - zh-CN * `hi-IN` - hi-IN */
      language: components["schemas"]["LanguageEnum"];
      /** IANA time zone of the business, e.g. America/New_York. */
      timezone: string;
      callHandlingMode: components["schemas"]["CallHandlingModeEnum"];
      greeting: string;
      businessHours: components["schemas"]["BusinessHours"];
      voicemailEnabled: boolean;
      /** Reply to a HELP text; null: a standard reply. */
      smsHelpReply: string | null;
      /** No texts are sent in this window (compliance). */
      smsQuietHours: components["schemas"]["QuietHours"];
      updatedAt: string;
    };
    /** The documented shape of `api_key_json` (the OpenAPI contract; schemathesis checks they agree). */
    ApiKey: {
      /** Opaque id, `key_…`. */
      id: string;
      name: string;
      mode: components["schemas"]["ModeEnum"];
      /** Prefix and last four characters, e.g. `aip_live_…abcd`. */
      maskedKey: string;
      scopes: Array<components["schemas"]["ScopesEnum"]>;
      status: components["schemas"]["ApiKeyStatusEnum"];
      createdAt: string;
      lastUsedAt: string | null;
      expiresAt: string | null;
      revokedAt: string | null;
    };
    /** * `active` - active * `expiring` - expiring * `expired` - expired * `revoked` - revoked */
    ApiKeyStatusEnum: "active" | "expiring" | "expired" | "revoked";
    /** The documented shape of `api_key_json` (the OpenAPI contract; schemathesis checks they agree). */
    ApiKeyWithSecret: {
      /** Opaque id, `key_…`. */
      id: string;
      name: string;
      mode: components["schemas"]["ModeEnum"];
      /** Prefix and last four characters, e.g. `aip_live_…abcd`. */
      maskedKey: string;
      scopes: Array<components["schemas"]["ScopesEnum"]>;
      status: components["schemas"]["ApiKeyStatusEnum"];
      createdAt: string;
      lastUsedAt: string | null;
      expiresAt: string | null;
      revokedAt: string | null;
      /** The full key. Shown only in this response; store it now. */
      secret: string;
    };
    Appointment: {
      /** Opaque id, `apt_…`. */
      id: string;
      status: components["schemas"]["AppointmentStatusEnum"];
      service: string;
      startsAt: string;
      durationMinutes: number;
      contact: components["schemas"]["ContactRef"];
      /** The call it was booked on, if any. */
      callId: string | null;
      notes: string | null;
      createdAt: string;
    };
    /** An appointment is booked. */
    AppointmentBookedEvent: {
      /** `evt_…`. Delivery is at-least-once: dedupe on it. */
      id: string;
      type: "appointment.booked";
      createdAt: string;
      /** The organisation's id, `biz_…`. */
      businessId: string;
      data: components["schemas"]["Appointment"];
      /** False for events caused through a test key or test data. */
      livemode: boolean;
    };
    /** * `booked` - Booked * `cancelled` - Cancelled */
    AppointmentStatusEnum: "booked" | "cancelled";
    Attempt: {
      /** Opaque id, `att_…`. */
      id: string;
      number: number;
      startedAt: string;
      finishedAt: string | null;
      durationMs: number | null;
      succeeded: boolean;
      errorClass: string | null;
      errorMessage: string | null;
      /** What was sent (the signature header, never the secret). */
      request: components["schemas"]["AttemptSent"];
      response: components["schemas"]["AttemptReceived"];
    };
    AttemptReceived: {
      /** Null when no response arrived. */
      status: number | null;
      /** Lower-case names; Date, Content-Length and connection headers are not kept. */
      headers: Record<string, string>;
      /** The first 4 KB of the body. */
      bodyExcerpt: string;
    };
    AttemptSent: {
      url: string;
      headers: Record<string, string>;
      body: string;
    };
    BillingPeriod: {
      /** Always UTC: the billing month is the calendar month in UTC. */
      timeZone: string;
      /** First instant of the current billing month (UTC). */
      start: string;
      /** First instant of the next billing month (UTC), exclusive. */
      end: string;
      /** The business's time zone (the one its dashboard shows). */
      localTimeZone: string;
      /** `start` in `localTimeZone`, with its offset. */
      localStart: string;
      /** `end` in `localTimeZone`, with its offset. */
      localEnd: string;
      /** Which API answers are billed. */
      billableRequests: string;
    };
    /** A weekday with no intervals (or left out) is closed. */
    BusinessHours: {
      monday?: Array<components["schemas"]["OpeningInterval"]>;
      tuesday?: Array<components["schemas"]["OpeningInterval"]>;
      wednesday?: Array<components["schemas"]["OpeningInterval"]>;
      thursday?: Array<components["schemas"]["OpeningInterval"]>;
      friday?: Array<components["schemas"]["OpeningInterval"]>;
      saturday?: Array<components["schemas"]["OpeningInterval"]>;
      sunday?: Array<components["schemas"]["OpeningInterval"]>;
    };
    /** A weekday with no intervals (or left out) is closed. */
    BusinessHoursRequest: {
      monday?: Array<components["schemas"]["OpeningIntervalRequest"]>;
      tuesday?: Array<components["schemas"]["OpeningIntervalRequest"]>;
      wednesday?: Array<components["schemas"]["OpeningIntervalRequest"]>;
      thursday?: Array<components["schemas"]["OpeningIntervalRequest"]>;
      friday?: Array<components["schemas"]["OpeningIntervalRequest"]>;
      saturday?: Array<components["schemas"]["OpeningIntervalRequest"]>;
      sunday?: Array<components["schemas"]["OpeningIntervalRequest"]>;
    };
    Call: {
      /** Opaque id, `call_…`. */
      id: string;
      direction: components["schemas"]["DirectionEnum"];
      /** E.164 of the caller. */
      from: string;
      /** E.164 of the callee. */
      to: string;
      status: components["schemas"]["CallStatusEnum"];
      startedAt: string;
      endedAt: string | null;
      durationSeconds: number | null;
      /** The AI's post-call summary. */
      summary: string | null;
      outcome: (components["schemas"]["OutcomeEnum"] | components["schemas"]["NullEnum"]);
      contact: (components["schemas"]["ContactRef"] | null);
      /** The AI agent that handled the call. */
      agent: (components["schemas"]["CallAgent"] | null);
      /** `GET /calls/{id}/transcript` has turns to return. */
      hasTranscript: boolean;
      /** `GET /calls/{id}/recording` has a URL to return. */
      hasRecording: boolean;
    };
    CallAgent: {
      /** `agt_…`, or null for the business's single default AI. */
      id: string | null;
      name: string;
    };
    /** A call ends and post-call processing finishes (incl. summary). */
    CallCompletedEvent: {
      /** `evt_…`. Delivery is at-least-once: dedupe on it. */
      id: string;
      type: "call.completed";
      createdAt: string;
      /** The organisation's id, `biz_…`. */
      businessId: string;
      data: components["schemas"]["Call"];
      /** False for events caused through a test key or test data. */
      livemode: boolean;
    };
    CallDetail: {
      /** Opaque id, `call_…`. */
      id: string;
      direction: components["schemas"]["DirectionEnum"];
      /** E.164 of the caller. */
      from: string;
      /** E.164 of the callee. */
      to: string;
      status: components["schemas"]["CallStatusEnum"];
      startedAt: string;
      endedAt: string | null;
      durationSeconds: number | null;
      /** The AI's post-call summary. */
      summary: string | null;
      outcome: (components["schemas"]["OutcomeEnum"] | components["schemas"]["NullEnum"]);
      contact: (components["schemas"]["ContactRef"] | null);
      /** The AI agent that handled the call. */
      agent: (components["schemas"]["CallAgent"] | null);
      /** `GET /calls/{id}/transcript` has turns to return. */
      hasTranscript: boolean;
      /** `GET /calls/{id}/recording` has a URL to return. */
      hasRecording: boolean;
      voicemail: (components["schemas"]["Voicemail"] | null);
      appointments: Array<components["schemas"]["Appointment"]>;
    };
    /** * `ai_first` - AI answers every call * `forward_first` - Ring staff first, AI answers if nobody picks up * `after_hours_only` - AI answers outside business hours only */
    CallHandlingModeEnum: "ai_first" | "forward_first" | "after_hours_only";
    /** An inbound call begins. */
    CallStartedEvent: {
      /** `evt_…`. Delivery is at-least-once: dedupe on it. */
      id: string;
      type: "call.started";
      createdAt: string;
      /** The organisation's id, `biz_…`. */
      businessId: string;
      data: components["schemas"]["Call"];
      /** False for events caused through a test key or test data. */
      livemode: boolean;
    };
    /** * `in_progress` - In progress * `completed` - Completed * `missed` - Missed * `voicemail` - Voicemail * `failed` - Failed */
    CallStatusEnum: "in_progress" | "completed" | "missed" | "voicemail" | "failed";
    Contact: {
      /** Opaque id, `con_…`. */
      id: string;
      /** E.164; unique per business and mode. */
      phoneNumber: string;
      name: string | null;
      email: string | null;
      company: string | null;
      /** The number texted STOP; texts to it are refused until START. */
      smsOptedOut: boolean;
      createdAt: string;
      updatedAt: string;
    };
    ContactCreateRequest: {
      /** E.164 (`+14155552671`), or a national number read in the business's country. Unique per business and mode. */
      phoneNumber: string;
      name?: string | null;
      email?: string | null;
      company?: string | null;
    };
    /** A contact is created. */
    ContactCreatedEvent: {
      /** `evt_…`. Delivery is at-least-once: dedupe on it. */
      id: string;
      type: "contact.created";
      createdAt: string;
      /** The organisation's id, `biz_…`. */
      businessId: string;
      data: components["schemas"]["Contact"];
      /** False for events caused through a test key or test data. */
      livemode: boolean;
    };
    ContactDeleted: {
      /** The erased contact's id, `con_…`; nothing else of it is sent. */
      id: string;
      deleted: boolean;
    };
    /** A contact is erased (`DELETE /contacts/{id}`); the payload carries its id only. */
    ContactDeletedEvent: {
      /** `evt_…`. Delivery is at-least-once: dedupe on it. */
      id: string;
      type: "contact.deleted";
      createdAt: string;
      /** The organisation's id, `biz_…`. */
      businessId: string;
      data: components["schemas"]["ContactDeleted"];
      /** False for events caused through a test key or test data. */
      livemode: boolean;
    };
    ContactRef: {
      /** Opaque id, `con_…`. */
      id: string;
      name: string | null;
      /** E.164. */
      phoneNumber: string;
    };
    ContactUpdated: {
      /** Opaque id, `con_…`. */
      id: string;
      /** E.164; unique per business and mode. */
      phoneNumber: string;
      name: string | null;
      email: string | null;
      company: string | null;
      /** The number texted STOP; texts to it are refused until START. */
      smsOptedOut: boolean;
      createdAt: string;
      updatedAt: string;
      /** Wire names of what changed. */
      changedFields: Array<string>;
    };
    /** A contact is meaningfully changed. */
    ContactUpdatedEvent: {
      /** `evt_…`. Delivery is at-least-once: dedupe on it. */
      id: string;
      type: "contact.updated";
      createdAt: string;
      /** The organisation's id, `biz_…`. */
      businessId: string;
      data: components["schemas"]["ContactUpdated"];
      /** False for events caused through a test key or test data. */
      livemode: boolean;
    };
    DataField: {
      /** snake_case, unique per business and mode. */
      key: string;
      label: string;
      type?: components["schemas"]["DataFieldTypeEnum"];
      /** For type choice. */
      choices?: Array<string>;
      required?: boolean;
      /** Ties the field to one specialist; null: every agent collects it. */
      agentId?: string | null;
      /** Opaque id, `fld_…`. */
      id: string;
      createdAt: string;
      updatedAt: string;
    };
    /** * `text` - Text * `number` - Number * `date` - Date * `email` - Email * `phone` - Phone * `choice` - Choice */
    DataFieldTypeEnum: "text" | "number" | "date" | "email" | "phone" | "choice";
    DataFieldWriteRequest: {
      /** snake_case, unique per business and mode. */
      key: string;
      label: string;
      type?: components["schemas"]["DataFieldTypeEnum"];
      /** For type choice. */
      choices?: Array<string>;
      required?: boolean;
      /** Ties the field to one specialist; null: every agent collects it. */
      agentId?: string | null;
    };
    DayUsage: {
      /** A UTC calendar day. */
      date: string;
      /** Exact decimal string in USD, e.g. "0.40" or "0.0004". */
      charges: string;
      metrics: Array<components["schemas"]["UsageLine"]>;
    };
    Deleted: {
      id: string;
      deleted: boolean;
    };
    Delivery: {
      /** Opaque id, `del_…`. */
      id: string;
      webhookId: string;
      /** `evt_…`; a replay keeps the event id, so dedupe on it. */
      eventId: string;
      eventType: components["schemas"]["WebhookEventTypeEnum"];
      livemode: boolean;
      status: components["schemas"]["DeliveryStatusEnum"];
      statusReason: string | null;
      attemptCount: number;
      lastResponseStatus: number | null;
      nextAttemptAt: string | null;
      /** Held while a live wallet is empty. */
      heldSince: string | null;
      /** The delivery this one replays. */
      replayOf: string | null;
      createdAt: string;
      completedAt: string | null;
    };
    DeliveryDetail: {
      /** Opaque id, `del_…`. */
      id: string;
      webhookId: string;
      /** `evt_…`; a replay keeps the event id, so dedupe on it. */
      eventId: string;
      eventType: components["schemas"]["WebhookEventTypeEnum"];
      livemode: boolean;
      status: components["schemas"]["DeliveryStatusEnum"];
      statusReason: string | null;
      attemptCount: number;
      lastResponseStatus: number | null;
      nextAttemptAt: string | null;
      /** Held while a live wallet is empty. */
      heldSince: string | null;
      /** The delivery this one replays. */
      replayOf: string | null;
      createdAt: string;
      completedAt: string | null;
      /** The exact event sent (every attempt sends the same bytes). */
      event: components["schemas"]["Event"];
      attempts: Array<components["schemas"]["Attempt"]>;
    };
    /** * `pending` - Pending * `held` - Held * `succeeded` - Succeeded * `failed` - Failed * `expired` - Expired */
    DeliveryStatusEnum: "pending" | "held" | "succeeded" | "failed" | "expired";
    /** * `inbound` - Inbound * `outbound` - Outbound */
    DirectionEnum: "inbound" | "outbound";
    /** * `GSM-7` - GSM-7 * `UCS-2` - UCS-2 */
    EncodingEnum: "GSM-7" | "UCS-2";
    /** Every delivery's body: the event, with its type-specific `data`. */
    Event: {
      /** `evt_…`. Delivery is at-least-once: dedupe on it. */
      id: string;
      type: components["schemas"]["WebhookEventTypeEnum"];
      createdAt: string;
      /** The organisation's id, `biz_…`. */
      businessId: string;
      /** The event-specific payload (see the webhooks section). */
      data: Record<string, unknown>;
      /** False for events caused through a test key or test data. */
      livemode: boolean;
    };
    /** Every delivery's body: the event, with its type-specific `data`. */
    EventWithDeliveries: {
      /** `evt_…`. Delivery is at-least-once: dedupe on it. */
      id: string;
      type: components["schemas"]["WebhookEventTypeEnum"];
      createdAt: string;
      /** The organisation's id, `biz_…`. */
      businessId: string;
      /** The event-specific payload (see the webhooks section). */
      data: Record<string, unknown>;
      /** False for events caused through a test key or test data. */
      livemode: boolean;
      /** Each endpoint's delivery of this event (replays included), oldest first; empty when no endpoint was subscribed to it. */
      deliveries: Array<components["schemas"]["Delivery"]>;
    };
    /** * `call.started` - call.started * `call.completed` - call.completed * `transcript.ready` - transcript.ready * `sms.received` - sms.received * `sms.sent` - sms.sent * `voicemail.created` - voicemail.created * `contact.created` - contact.created * `contact.updated` - contact.updated * `appointment.booked` - appointment.booked * `sms.status_updated` - sms.status_updated * `contact.deleted` - contact.deleted * `*` - * */
    EventsEnum: "call.started" | "call.completed" | "transcript.ready" | "sms.received" | "sms.sent" | "voicemail.created" | "contact.created" | "contact.updated" | "appointment.booked" | "sms.status_updated" | "contact.deleted" | "*";
    FreeQuota: {
      /** YYYY-MM (UTC). */
      month: string;
      plan: string | null;
      metrics: Array<components["schemas"]["QuotaLine"]>;
    };
    /** * `now` - now * `1h` - 1h * `24h` - 24h * `3d` - 3d * `7d` - 7d */
    GracePeriodEnum: "now" | "1h" | "24h" | "3d" | "7d";
    KeyCreateRequest: {
      name: string;
      mode: components["schemas"]["ModeEnum"];
      /** A non-empty subset of the scopes. */
      scopes: Array<components["schemas"]["ScopesEnum"]>;
      /** Optional expiry in the future. */
      expiresAt?: string | null;
    };
    KeyRotateRequest: {
      /** How long the old key keeps working. * `now` - now * `1h` - 1h * `24h` - 24h * `3d` - 3d * `7d` - 7d */
      gracePeriod: components["schemas"]["GracePeriodEnum"];
    };
    KeyUsage: {
      /** `key_…`; null for usage no key caused (see `source`). */
      keyId: string | null;
      /** The key's name; "System" or "Dashboard" without a key. */
      name: string;
      maskedKey: string | null;
      /** What caused the usage. `api`: requests of this key and the work they caused (the webhook attempts and retries of the events they raised, the deliveries they replayed, the tool calls they asked for). `dashboard`: actions of people in the dashboard (a test send, a replay, a tool test). `system`: the phone system (calls, texts received, automatic replies) and the simulator. * `api` - api * `dashboard` - dashboard * `system` - system */
      source: components["schemas"]["SourceEnum"];
      /** Exact decimal string in USD, e.g. "0.40" or "0.0004". */
      charges: string;
      metrics: Array<components["schemas"]["UsageLine"]>;
    };
    KnowledgeBase: {
      /** Opaque id, `kb_…`; what an agent's `knowledgeBaseIds` lists. */
      id: string;
      name: string;
      description: string | null;
      documentCount: number;
      createdAt: string;
      /** The last change to the base or any of its documents. */
      updatedAt: string;
    };
    /** * `en-US` - en-US * `en-GB` - en-GB * `en-AU` - en-AU * `en-CA` - en-CA * `en-IE` - en-IE * `en-NZ` - en-NZ * `es-US` - es-US * `es-ES` - es-ES * `es-MX` - es-MX * `fr-FR` - fr-FR * `fr-CA` - fr-CA * `de-DE` - de-DE * `it-IT` - it-IT * `nl-NL` - nl-NL * `pt-BR` - pt-BR * `pt-PT` - pt-PT * `pl-PL` - pl-PL * `sv-SE` - sv-SE * `da-DK` - da-DK * `nb-NO` - nb-NO * `fi-FI` - fi-FI * `ja-JP` - ja-JP * `ko-KR` - ko-KR * `zh-CN` - zh-CN * `hi-IN` - hi-IN */
    LanguageEnum: "en-US" | "en-GB" | "en-AU" | "en-CA" | "en-IE" | "en-NZ" | "es-US" | "es-ES" | "es-MX" | "fr-FR" | "fr-CA" | "de-DE" | "it-IT" | "nl-NL" | "pt-BR" | "pt-PT" | "pl-PL" | "sv-SE" | "da-DK" | "nb-NO" | "fi-FI" | "ja-JP" | "ko-KR" | "zh-CN" | "hi-IN";
    /** * `succeeded` - succeeded * `failed` - failed * `rejected` - rejected * `refused` - refused */
    LastInvocationStatusEnum: "succeeded" | "failed" | "rejected" | "refused";
    Message: {
      /** Opaque id, `msg_…`. */
      id: string;
      direction: components["schemas"]["DirectionEnum"];
      from: string;
      to: string;
      body: string;
      encoding: components["schemas"]["EncodingEnum"];
      /** Billed units (SMS segments). */
      segments: number;
      status: components["schemas"]["MessageStatusEnum"];
      mode: components["schemas"]["ModeEnum"];
      /** Sent with a test key: nothing reached a carrier, nothing was billed. */
      test: boolean;
      /** Why the carrier refused it, for failed messages. */
      error: (components["schemas"]["MessageError"] | null);
      /** Null when the contact was erased. */
      contactId: string | null;
      createdAt: string;
      sentAt: string | null;
      /** When the carrier reported delivery. */
      deliveredAt: string | null;
      /** When `status` last changed. */
      statusUpdatedAt: string;
    };
    MessageError: {
      /** The carrier's error code. */
      code: string;
      message: string;
    };
    /** * `queued` - Queued * `sent` - Sent * `delivered` - Delivered * `failed` - Failed * `undelivered` - Undelivered * `received` - Received */
    MessageStatusEnum: "queued" | "sent" | "delivered" | "failed" | "undelivered" | "received";
    /** * `api_requests` - api_requests * `webhook_attempts` - webhook_attempts * `tool_invocations` - tool_invocations * `sms_segments` - sms_segments */
    MetricEnum: "api_requests" | "webhook_attempts" | "tool_invocations" | "sms_segments";
    /** * `live` - live * `test` - test */
    ModeEnum: "live" | "test";
    ModeUsage: {
      /** Exact decimal string in USD, e.g. "0.40" or "0.0004". */
      charges: string;
      byMetric: Array<components["schemas"]["UsageLine"]>;
      byKey: Array<components["schemas"]["KeyUsage"]>;
      /** Every day of the range, oldest first. */
      byDay: Array<components["schemas"]["DayUsage"]>;
    };
    NullEnum: null;
    OpeningInterval: {
      /** 24-hour HH:MM, before `close`. */
      open: string;
      close: string;
    };
    OpeningIntervalRequest: {
      /** 24-hour HH:MM, before `close`. */
      open: string;
      close: string;
    };
    /** * `appointment_booked` - Appointment booked * `question_answered` - Question answered * `message_taken` - Message taken * `transferred` - Transferred to staff * `voicemail` - Voicemail left * `spam` - Spam * `abandoned` - Caller hung up */
    OutcomeEnum: "appointment_booked" | "question_answered" | "message_taken" | "transferred" | "voicemail" | "spam" | "abandoned";
    PaginatedAgentList: {
      success: components["schemas"]["SuccessEnum"];
      data: Array<components["schemas"]["Agent"]>;
      pagination: {
        nextCursor: string | null;
        hasMore: boolean;
        limit: number;
      };
      message: string;
    };
    PaginatedApiKeyList: {
      success: components["schemas"]["SuccessEnum"];
      data: Array<components["schemas"]["ApiKey"]>;
      pagination: {
        nextCursor: string | null;
        hasMore: boolean;
        limit: number;
      };
      message: string;
    };
    PaginatedCallList: {
      success: components["schemas"]["SuccessEnum"];
      data: Array<components["schemas"]["Call"]>;
      pagination: {
        nextCursor: string | null;
        hasMore: boolean;
        limit: number;
      };
      message: string;
    };
    PaginatedContactList: {
      success: components["schemas"]["SuccessEnum"];
      data: Array<components["schemas"]["Contact"]>;
      pagination: {
        nextCursor: string | null;
        hasMore: boolean;
        limit: number;
      };
      message: string;
    };
    PaginatedDataFieldList: {
      success: components["schemas"]["SuccessEnum"];
      data: Array<components["schemas"]["DataField"]>;
      pagination: {
        nextCursor: string | null;
        hasMore: boolean;
        limit: number;
      };
      message: string;
    };
    PaginatedDeliveryList: {
      success: components["schemas"]["SuccessEnum"];
      data: Array<components["schemas"]["Delivery"]>;
      pagination: {
        nextCursor: string | null;
        hasMore: boolean;
        limit: number;
      };
      message: string;
    };
    PaginatedEventList: {
      success: components["schemas"]["SuccessEnum"];
      data: Array<components["schemas"]["Event"]>;
      pagination: {
        nextCursor: string | null;
        hasMore: boolean;
        limit: number;
      };
      message: string;
    };
    PaginatedKnowledgeBaseList: {
      success: components["schemas"]["SuccessEnum"];
      data: Array<components["schemas"]["KnowledgeBase"]>;
      pagination: {
        nextCursor: string | null;
        hasMore: boolean;
        limit: number;
      };
      message: string;
    };
    PaginatedMessageList: {
      success: components["schemas"]["SuccessEnum"];
      data: Array<components["schemas"]["Message"]>;
      pagination: {
        nextCursor: string | null;
        hasMore: boolean;
        limit: number;
      };
      message: string;
    };
    PaginatedToolList: {
      success: components["schemas"]["SuccessEnum"];
      data: Array<components["schemas"]["Tool"]>;
      pagination: {
        nextCursor: string | null;
        hasMore: boolean;
        limit: number;
      };
      message: string;
    };
    PaginatedWebhookEndpointList: {
      success: components["schemas"]["SuccessEnum"];
      data: Array<components["schemas"]["WebhookEndpoint"]>;
      pagination: {
        nextCursor: string | null;
        hasMore: boolean;
        limit: number;
      };
      message: string;
    };
    PatchedAgentWriteRequest: {
      /** Lowercase id, unique per business and mode. */
      agentKey?: string;
      displayName?: string;
      /** The specialist's focused role. */
      instructions?: string;
      /** Caller-intent phrases the greeter routes on. */
      matchHints?: Array<string>;
      tools?: components["schemas"]["AgentToolsRequest"];
      /** RAG scope; empty: all business knowledge. */
      knowledgeBaseIds?: Array<string>;
      /** The greeter; making one default unsets the previous one. */
      isDefault?: boolean;
      enabled?: boolean;
    };
    /** The curated subset; send at least one field. Payment, spam and PII settings are never writable here. */
    PatchedAiConfigUpdateRequest: {
      language?: components["schemas"]["LanguageEnum"];
      /** An IANA time zone name, e.g. Europe/London. */
      timezone?: string;
      callHandlingMode?: components["schemas"]["CallHandlingModeEnum"];
      greeting?: string;
      /** Replaces the whole week. Intervals of a day must not overlap. */
      businessHours?: components["schemas"]["BusinessHoursRequest"];
      voicemailEnabled?: boolean;
      smsHelpReply?: string | null;
      smsQuietHours?: components["schemas"]["QuietHoursRequest"];
    };
    /** Only the fields sent change; null or "" clears name, email or company. */
    PatchedContactUpdateRequest: {
      /** E.164 (`+14155552671`), or a national number read in the business's country. Unique per business and mode. */
      phoneNumber?: string;
      name?: string | null;
      email?: string | null;
      company?: string | null;
    };
    PatchedDataFieldWriteRequest: {
      /** snake_case, unique per business and mode. */
      key?: string;
      label?: string;
      type?: components["schemas"]["DataFieldTypeEnum"];
      /** For type choice. */
      choices?: Array<string>;
      required?: boolean;
      /** Ties the field to one specialist; null: every agent collects it. */
      agentId?: string | null;
    };
    PatchedToolWriteRequest: {
      name?: string;
      description?: string;
      /** A JSON Schema with `"type": "object"` at the top. */
      inputSchema?: unknown;
      /** A public https URL. */
      endpointUrl?: string;
      /** Default none. Secrets left out on PATCH are kept. */
      auth?: components["schemas"]["ToolAuthRequest"];
      timeoutSeconds?: number;
      enabled?: boolean;
    };
    /** Only the fields sent change; other fields are refused. Re-enabling clears the failure record. */
    PatchedWebhookUpdateRequest: {
      /** A public https URL. */
      url?: string;
      events?: Array<components["schemas"]["EventsEnum"]>;
      /** Which events the endpoint receives: `["live"]` (events caused by live keys and live calls), `["test"]` (test-mode events, `livemode: false`), or `["live", "test"]`, the default. An event of a mode the endpoint does not list is not delivered to it (no delivery, no attempt, nothing metered). “Send test event” and replays of existing deliveries go out whatever it lists. Each mode at most once. */
      modes?: Array<components["schemas"]["ModeEnum"]>;
      description?: string | null;
      enabled?: boolean;
    };
    QuietHours: {
      /** 24-hour HH:MM in the business's time zone. */
      start: string;
      /** Equal to `start`: no quiet hours. */
      end: string;
    };
    QuietHoursRequest: {
      /** 24-hour HH:MM in the business's time zone. */
      start: string;
      /** Equal to `start`: no quiet hours. */
      end: string;
    };
    QuotaLine: {
      metric: components["schemas"]["MetricEnum"];
      /** Free units per calendar month (UTC). */
      included: number;
      /** Free units used by live usage this month. */
      used: number;
      remaining: number;
      /** Units per charge: 1,000 for API requests, else 1. */
      unitSize: number;
      /** Price per charged unit (per block of 1,000 API requests). */
      unitPrice: string;
    };
    Recording: {
      callId: string;
      /** Opaque id, `rec_…`. */
      recordingId: string;
      /** Signed URL of the audio; needs no API key and stops working at `expiresAt`. It honours a single `Range: bytes=…` (206 with `Content-Range`, 416 when unsatisfiable), so players can seek. */
      url: string;
      expiresAt: string;
      /** e.g. audio/wav */
      contentType: string;
      durationSeconds: number;
      sizeBytes: number;
    };
    RecoverRequest: {
      /** Re-send every failed delivery created at or after this time. */
      since: string;
    };
    RecoverResult: {
      count: number;
      /** The new deliveries, queued now. */
      deliveries: Array<components["schemas"]["Delivery"]>;
    };
    RotateSecretRequest: {
      /** How long the old secret keeps signing alongside the new one. * `now` - now * `1h` - 1h * `24h` - 24h * `3d` - 3d * `7d` - 7d */
      overlap?: components["schemas"]["GracePeriodEnum"];
    };
    RotatedFrom: {
      id: string;
      /** When the rotated-out key stops working. */
      expiresAt: string;
    };
    /** The documented shape of `api_key_json` (the OpenAPI contract; schemathesis checks they agree). */
    RotatedKey: {
      /** Opaque id, `key_…`. */
      id: string;
      name: string;
      mode: components["schemas"]["ModeEnum"];
      /** Prefix and last four characters, e.g. `aip_live_…abcd`. */
      maskedKey: string;
      scopes: Array<components["schemas"]["ScopesEnum"]>;
      status: components["schemas"]["ApiKeyStatusEnum"];
      createdAt: string;
      lastUsedAt: string | null;
      expiresAt: string | null;
      revokedAt: string | null;
      /** The full key. Shown only in this response; store it now. */
      secret: string;
      rotatedFrom: components["schemas"]["RotatedFrom"];
    };
    /** * `read:calls` - read:calls * `read:transcripts` - read:transcripts * `read:recordings` - read:recordings * `read:contacts` - read:contacts * `write:contacts` - write:contacts * `write:sms` - write:sms * `read:usage` - read:usage * `manage:config` - manage:config * `manage:webhooks` - manage:webhooks * `manage:tools` - manage:tools * `manage:agents` - manage:agents */
    ScopesEnum: "read:calls" | "read:transcripts" | "read:recordings" | "read:contacts" | "write:contacts" | "write:sms" | "read:usage" | "manage:config" | "manage:webhooks" | "manage:tools" | "manage:agents";
    SendMessageRequest: {
      /** E.164 (`+14155552671`), or a national number read in the business's country. */
      to: string;
      /** The text, 1 to 1,600 characters (not only spaces). */
      body: string;
    };
    SmsReceived: {
      /** Opaque id, `msg_…`. */
      id: string;
      /** * `inbound` - Inbound * `outbound` - Outbound */
      direction: "inbound" | "outbound";
      from: string;
      to: string;
      body: string;
      /** * `GSM-7` - GSM-7 * `UCS-2` - UCS-2 */
      encoding: "GSM-7" | "UCS-2";
      /** Billed units (SMS segments). */
      segments: number;
      /** * `queued` - Queued * `sent` - Sent * `delivered` - Delivered * `failed` - Failed * `undelivered` - Undelivered * `received` - Received */
      status: "queued" | "sent" | "delivered" | "failed" | "undelivered" | "received";
      /** * `live` - live * `test` - test */
      mode: "live" | "test";
      /** Sent with a test key: nothing reached a carrier, nothing was billed. */
      test: boolean;
      /** Why the carrier refused it, for failed messages. */
      error: (components["schemas"]["MessageError"] | null);
      /** Null when the contact was erased. */
      contactId: string | null;
      createdAt: string;
      sentAt: string | null;
      /** When the carrier reported delivery. */
      deliveredAt: string | null;
      /** When `status` last changed. */
      statusUpdatedAt: string;
      /** A compliance keyword (STOP, START, HELP and synonyms) already applied, or null for an ordinary text. * `opt_out` - opt_out * `opt_in` - opt_in * `help` - help */
      keyword: "opt_out" | "opt_in" | "help" | null;
    };
    /** An inbound text arrives. */
    SmsReceivedEvent: {
      /** `evt_…`. Delivery is at-least-once: dedupe on it. */
      id: string;
      type: "sms.received";
      createdAt: string;
      /** The organisation's id, `biz_…`. */
      businessId: string;
      data: components["schemas"]["SmsReceived"];
      /** False for events caused through a test key or test data. */
      livemode: boolean;
    };
    /** An outbound text is sent. */
    SmsSentEvent: {
      /** `evt_…`. Delivery is at-least-once: dedupe on it. */
      id: string;
      type: "sms.sent";
      createdAt: string;
      /** The organisation's id, `biz_…`. */
      businessId: string;
      data: components["schemas"]["Message"];
      /** False for events caused through a test key or test data. */
      livemode: boolean;
    };
    SmsStatusUpdated: {
      /** Opaque id, `msg_…`. */
      id: string;
      /** * `inbound` - Inbound * `outbound` - Outbound */
      direction: "inbound" | "outbound";
      from: string;
      to: string;
      body: string;
      /** * `GSM-7` - GSM-7 * `UCS-2` - UCS-2 */
      encoding: "GSM-7" | "UCS-2";
      /** Billed units (SMS segments). */
      segments: number;
      /** * `queued` - Queued * `sent` - Sent * `delivered` - Delivered * `failed` - Failed * `undelivered` - Undelivered * `received` - Received */
      status: "queued" | "sent" | "delivered" | "failed" | "undelivered" | "received";
      /** * `live` - live * `test` - test */
      mode: "live" | "test";
      /** Sent with a test key: nothing reached a carrier, nothing was billed. */
      test: boolean;
      /** Why the carrier refused it, for failed messages. */
      error: (components["schemas"]["MessageError"] | null);
      /** Null when the contact was erased. */
      contactId: string | null;
      createdAt: string;
      sentAt: string | null;
      /** When the carrier reported delivery. */
      deliveredAt: string | null;
      /** When `status` last changed. */
      statusUpdatedAt: string;
      /** * `queued` - Queued * `sent` - Sent * `delivered` - Delivered * `failed` - Failed * `undelivered` - Undelivered * `received` - Received */
      previousStatus: "queued" | "sent" | "delivered" | "failed" | "undelivered" | "received";
    };
    /** An outbound text's delivery status moves (sent, delivered, failed, undelivered). */
    SmsStatusUpdatedEvent: {
      /** `evt_…`. Delivery is at-least-once: dedupe on it. */
      id: string;
      type: "sms.status_updated";
      createdAt: string;
      /** The organisation's id, `biz_…`. */
      businessId: string;
      data: components["schemas"]["SmsStatusUpdated"];
      /** False for events caused through a test key or test data. */
      livemode: boolean;
    };
    /** * `api` - api * `dashboard` - dashboard * `system` - system */
    SourceEnum: "api" | "dashboard" | "system";
    /** * `agent` - AI agent * `caller` - Caller * `staff` - Staff */
    SpeakerEnum: "agent" | "caller" | "staff";
    SuccessEnum: true;
    Tool: {
      /** Opaque id, `tool_…`. */
      id: string;
      /** snake_case, unique per business and mode (test and live keys see their own). */
      name: string;
      description: string;
      /** A JSON Schema describing an object. */
      inputSchema: unknown;
      endpointUrl: string;
      auth: components["schemas"]["ToolAuth"];
      timeoutSeconds: number;
      enabled: boolean;
      lastInvokedAt: string | null;
      lastInvocationStatus: (components["schemas"]["LastInvocationStatusEnum"] | components["schemas"]["NullEnum"]);
      createdAt: string;
      updatedAt: string;
    };
    ToolAuth: {
      type: components["schemas"]["ToolAuthTypeEnum"];
      /** bearer: the token (responses: masked, `••••abcd`). */
      token?: string;
      /** header: the header to send, e.g. X-Api-Key. */
      headerName?: string;
      /** header: its value (responses: masked). */
      value?: string;
      /** basic: the user name. */
      username?: string;
      /** basic: the password (responses: masked). */
      password?: string;
    };
    ToolAuthRequest: {
      type: components["schemas"]["ToolAuthTypeEnum"];
      /** bearer: the token (responses: masked, `••••abcd`). */
      token?: string;
      /** header: the header to send, e.g. X-Api-Key. */
      headerName?: string;
      /** header: its value (responses: masked). */
      value?: string;
      /** basic: the user name. */
      username?: string;
      /** basic: the password (responses: masked). */
      password?: string;
    };
    /** * `none` - None * `bearer` - Bearer token * `header` - Custom header * `basic` - Basic auth */
    ToolAuthTypeEnum: "none" | "bearer" | "header" | "basic";
    ToolWriteRequest: {
      name: string;
      description: string;
      /** A JSON Schema with `"type": "object"` at the top. */
      inputSchema: unknown;
      /** A public https URL. */
      endpointUrl: string;
      /** Default none. Secrets left out on PATCH are kept. */
      auth?: components["schemas"]["ToolAuthRequest"];
      timeoutSeconds?: number;
      enabled?: boolean;
    };
    Transcript: {
      callId: string;
      /** In speaking order. */
      turns: Array<components["schemas"]["TranscriptTurn"]>;
    };
    /** The transcript is available. */
    TranscriptReadyEvent: {
      /** `evt_…`. Delivery is at-least-once: dedupe on it. */
      id: string;
      type: "transcript.ready";
      createdAt: string;
      /** The organisation's id, `biz_…`. */
      businessId: string;
      data: components["schemas"]["Transcript"];
      /** False for events caused through a test key or test data. */
      livemode: boolean;
    };
    TranscriptTurn: {
      speaker: components["schemas"]["SpeakerEnum"];
      text: string;
      /** Milliseconds from the start of the call. */
      offsetMs: number;
    };
    Usage: {
      from: string;
      to: string;
      currency: string;
      live: components["schemas"]["ModeUsage"];
      /** Test-mode usage: counted for visibility, never charged. */
      test: components["schemas"]["ModeUsage"];
      freeQuota: components["schemas"]["FreeQuota"];
      wallet: components["schemas"]["Wallet"];
      billingPeriod: components["schemas"]["BillingPeriod"];
    };
    UsageLine: {
      metric: components["schemas"]["MetricEnum"];
      quantity: number;
      /** Exact decimal string in USD, e.g. "0.40" or "0.0004". */
      charges: string;
    };
    Voicemail: {
      /** Opaque id, `vm_…`. */
      id: string;
      callId: string;
      from: string;
      transcription: string | null;
      durationSeconds: number;
      createdAt: string;
    };
    /** A voicemail is recorded. */
    VoicemailCreatedEvent: {
      /** `evt_…`. Delivery is at-least-once: dedupe on it. */
      id: string;
      type: "voicemail.created";
      createdAt: string;
      /** The organisation's id, `biz_…`. */
      businessId: string;
      data: components["schemas"]["Voicemail"];
      /** False for events caused through a test key or test data. */
      livemode: boolean;
    };
    Wallet: {
      /** Exact decimal string in USD, e.g. "0.40" or "0.0004". */
      balance: string;
      /** Exact decimal string in USD, e.g. "0.40" or "0.0004". */
      monthToDateSpend: string;
    };
    WebhookCreateRequest: {
      /** A public https URL. */
      url: string;
      /** Event types to receive, or `["*"]` (alone) for every type. */
      events: Array<components["schemas"]["EventsEnum"]>;
      /** Which events the endpoint receives: `["live"]` (events caused by live keys and live calls), `["test"]` (test-mode events, `livemode: false`), or `["live", "test"]`, the default. An event of a mode the endpoint does not list is not delivered to it (no delivery, no attempt, nothing metered). “Send test event” and replays of existing deliveries go out whatever it lists. Each mode at most once. */
      modes?: Array<components["schemas"]["ModeEnum"]>;
      description?: string | null;
    };
    WebhookDeleted: {
      id: string;
      deleted: boolean;
    };
    WebhookEndpoint: {
      /** Opaque id, `whk_…`. */
      id: string;
      url: string;
      description: string;
      /** Subscribed event types, or `["*"]` for every type. */
      events: Array<components["schemas"]["EventsEnum"]>;
      /** Which events the endpoint receives: `["live"]` (events caused by live keys and live calls), `["test"]` (test-mode events, `livemode: false`), or `["live", "test"]`, the default. An event of a mode the endpoint does not list is not delivered to it (no delivery, no attempt, nothing metered). “Send test event” and replays of existing deliveries go out whatever it lists. */
      modes: Array<components["schemas"]["ModeEnum"]>;
      enabled: boolean;
      disabledAt: string | null;
      /** Why it was disabled (by a user, or automatically after failing for days). */
      disabledReason: string | null;
      lastAttemptAt: string | null;
      /** HTTP status of the last attempt. */
      lastStatus: number | null;
      lastError: string | null;
      lastSuccessAt: string | null;
      /** First failure since the last success. */
      failingSince: string | null;
      /** When it will be disabled if it keeps failing. */
      disablesAt: string | null;
      /** After a secret rotation, the old secret also signs until then. */
      previousSecretExpiresAt: string | null;
      createdAt: string;
      updatedAt: string;
      /** Delivery attempts in the last 24 hours (list and get). */
      attempts24h?: number;
      /** Percentage of those that succeeded; null without attempts. */
      successRate24h?: number | null;
    };
    WebhookEndpointWithSecret: {
      /** Opaque id, `whk_…`. */
      id: string;
      url: string;
      description: string;
      /** Subscribed event types, or `["*"]` for every type. */
      events: Array<components["schemas"]["EventsEnum"]>;
      /** Which events the endpoint receives: `["live"]` (events caused by live keys and live calls), `["test"]` (test-mode events, `livemode: false`), or `["live", "test"]`, the default. An event of a mode the endpoint does not list is not delivered to it (no delivery, no attempt, nothing metered). “Send test event” and replays of existing deliveries go out whatever it lists. */
      modes: Array<components["schemas"]["ModeEnum"]>;
      enabled: boolean;
      disabledAt: string | null;
      /** Why it was disabled (by a user, or automatically after failing for days). */
      disabledReason: string | null;
      lastAttemptAt: string | null;
      /** HTTP status of the last attempt. */
      lastStatus: number | null;
      lastError: string | null;
      lastSuccessAt: string | null;
      /** First failure since the last success. */
      failingSince: string | null;
      /** When it will be disabled if it keeps failing. */
      disablesAt: string | null;
      /** After a secret rotation, the old secret also signs until then. */
      previousSecretExpiresAt: string | null;
      createdAt: string;
      updatedAt: string;
      /** Delivery attempts in the last 24 hours (list and get). */
      attempts24h?: number;
      /** Percentage of those that succeeded; null without attempts. */
      successRate24h?: number | null;
      /** The `whsec_…` signing secret. Shown only in this response. */
      secret: string;
    };
    /** * `call.started` - call.started * `call.completed` - call.completed * `transcript.ready` - transcript.ready * `sms.received` - sms.received * `sms.sent` - sms.sent * `voicemail.created` - voicemail.created * `contact.created` - contact.created * `contact.updated` - contact.updated * `appointment.booked` - appointment.booked * `sms.status_updated` - sms.status_updated * `contact.deleted` - contact.deleted * `webhook.test` - webhook.test */
    WebhookEventTypeEnum: "call.started" | "call.completed" | "transcript.ready" | "sms.received" | "sms.sent" | "voicemail.created" | "contact.created" | "contact.updated" | "appointment.booked" | "sms.status_updated" | "contact.deleted" | "webhook.test";
    WebhookTestData: {
      message: string;
      endpointId: string;
    };
    /** Sent by “Send test event”; never emitted otherwise. */
    WebhookTestEvent: {
      /** `evt_…`. Delivery is at-least-once: dedupe on it. */
      id: string;
      type: "webhook.test";
      createdAt: string;
      /** The organisation's id, `biz_…`. */
      businessId: string;
      data: components["schemas"]["WebhookTestData"];
      /** False for events caused through a test key or test data. */
      livemode: boolean;
    };
    WebhookTestResult: {
      succeeded: boolean;
      delivery: components["schemas"]["Delivery"];
      attempt: (components["schemas"]["Attempt"] | null);
    };
    ErrorEnvelope: {
      success: false;
      error: {
        message: string;
        /** Stable machine-readable code. */
        code: string;
        /** The HTTP status, repeated. */
        status: number;
        /** Quote it to support. */
        requestId: string | null;
        /** For VALIDATION_ERROR: each bad field (dotted path) and what is wrong. */
        fields?: Record<string, Array<string>>;
      };
    };
  };
}

/** The `call.started` event. */
export type CallStartedEvent = components["schemas"]["CallStartedEvent"];
/** The `call.completed` event. */
export type CallCompletedEvent = components["schemas"]["CallCompletedEvent"];
/** The `transcript.ready` event. */
export type TranscriptReadyEvent = components["schemas"]["TranscriptReadyEvent"];
/** The `sms.received` event. */
export type SmsReceivedEvent = components["schemas"]["SmsReceivedEvent"];
/** The `sms.sent` event. */
export type SmsSentEvent = components["schemas"]["SmsSentEvent"];
/** The `voicemail.created` event. */
export type VoicemailCreatedEvent = components["schemas"]["VoicemailCreatedEvent"];
/** The `contact.created` event. */
export type ContactCreatedEvent = components["schemas"]["ContactCreatedEvent"];
/** The `contact.updated` event. */
export type ContactUpdatedEvent = components["schemas"]["ContactUpdatedEvent"];
/** The `appointment.booked` event. */
export type AppointmentBookedEvent = components["schemas"]["AppointmentBookedEvent"];
/** The `sms.status_updated` event. */
export type SmsStatusUpdatedEvent = components["schemas"]["SmsStatusUpdatedEvent"];
/** The `contact.deleted` event. */
export type ContactDeletedEvent = components["schemas"]["ContactDeletedEvent"];
/** The `webhook.test` event. */
export type WebhookTestEvent = components["schemas"]["WebhookTestEvent"];

/** Every event a webhook endpoint can receive: narrow it on `event.type`. */
export type WebhookEvent =
  | CallStartedEvent
  | CallCompletedEvent
  | TranscriptReadyEvent
  | SmsReceivedEvent
  | SmsSentEvent
  | VoicemailCreatedEvent
  | ContactCreatedEvent
  | ContactUpdatedEvent
  | AppointmentBookedEvent
  | SmsStatusUpdatedEvent
  | ContactDeletedEvent
  | WebhookTestEvent;

/** The `type` of every event. */
export type WebhookEventType = WebhookEvent["type"];

/** The event of one type: `EventOfType<"call.completed">`. */
export type EventOfType<T extends WebhookEventType> = Extract<WebhookEvent, { type: T }>;

/** Every event type, in the document's order. */
export const WEBHOOK_EVENT_TYPES = ["call.started", "call.completed", "transcript.ready", "sms.received", "sms.sent", "voicemail.created", "contact.created", "contact.updated", "appointment.booked", "sms.status_updated", "contact.deleted", "webhook.test"] as const satisfies readonly WebhookEventType[];
