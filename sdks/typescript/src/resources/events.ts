import type { Core, RequestOptions, WithResponse } from "../core.js";
import type { PagePromise } from "../pagination.js";
import type { EventListParams, EventWithDeliveries, WebhookEvent } from "../types.js";

/** The event log of the last 30 days, of the key's mode. Scope `manage:webhooks`. */
export class Events {
  constructor(private readonly core: Core) {}

  /**
   * Newest first (`for await` walks every page), or with `{ after: "evt_…" }` the events after that
   * one, oldest first, one page; `wait` (0–25 s) long-polls for the next one (give a `timeoutMs` above it).
   */
  list(params: EventListParams = {}, options?: RequestOptions): PagePromise<WebhookEvent, EventListParams> {
    return this.core.list<WebhookEvent, EventListParams>("/events", params, options);
  }

  /** One event with each endpoint's delivery status. */
  async get(eventId: string, options?: RequestOptions): Promise<WithResponse<EventWithDeliveries>> {
    return this.core.call<EventWithDeliveries>("GET", `/events/${encodeURIComponent(eventId)}`, options);
  }
}
