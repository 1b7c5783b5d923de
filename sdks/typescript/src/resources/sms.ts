import type { Core, RequestOptions, WithResponse } from "../core.js";
import type { Message, SmsSendParams } from "../types.js";

export class Sms {
  constructor(private readonly core: Core) {}

  /**
   * Send a text from your AI Phone 360 number (`POST /messages`). Scope `write:sms`.
   *
   * An Idempotency-Key is generated for each call and reused by its automatic retries, so a retry
   * never sends twice. Pass `{ idempotencyKey }` to make your own retries (e.g. of a queued job)
   * safe too. A test key runs every check and returns a synthetic success (`test: true`).
   */
  async send(params: SmsSendParams, options?: RequestOptions): Promise<WithResponse<Message>> {
    return this.core.call<Message>("POST", "/messages", { ...options, body: params });
  }
}
