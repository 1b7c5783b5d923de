import type { Core, RequestOptions, WithResponse } from "../core.js";
import type { PagePromise } from "../pagination.js";
import type { Message, MessageListParams } from "../types.js";

const id = encodeURIComponent;

/** Message history (issue 18). Sending stays `client.sms.send`. */
export class Messages {
  constructor(private readonly core: Core) {}

  /** Texts both ways, newest first, with their delivery status. Scope `read:contacts`. */
  list(params: MessageListParams = {}, options?: RequestOptions): PagePromise<Message, MessageListParams> {
    return this.core.list<Message, MessageListParams>("/messages", params, options);
  }

  /** One text with its delivery status and the carrier's error code. Scope `read:contacts`. */
  async get(messageId: string, options?: RequestOptions): Promise<WithResponse<Message>> {
    return this.core.call<Message>("GET", `/messages/${id(messageId)}`, options);
  }
}
