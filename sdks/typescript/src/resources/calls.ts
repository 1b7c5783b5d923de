import type { Core, RequestOptions, WithResponse } from "../core.js";
import type { PagePromise } from "../pagination.js";
import type { Call, CallDetail, CallListParams, Recording, Transcript } from "../types.js";

const id = encodeURIComponent;

export class Calls {
  constructor(private readonly core: Core) {}

  /** Calls, newest first. Scope `read:calls`. */
  list(params: CallListParams = {}, options?: RequestOptions): PagePromise<Call, CallListParams> {
    return this.core.list<Call, CallListParams>("/calls", params, options);
  }

  /** One call with its voicemail and appointments. Scope `read:calls`. */
  async get(callId: string, options?: RequestOptions): Promise<WithResponse<CallDetail>> {
    return this.core.call<CallDetail>("GET", `/calls/${id(callId)}`, options);
  }

  /** The speaker-attributed transcript. Scope `read:transcripts`. */
  async transcript(callId: string, options?: RequestOptions): Promise<WithResponse<Transcript>> {
    return this.core.call<Transcript>("GET", `/calls/${id(callId)}/transcript`, options);
  }

  /** A signed, expiring recording URL. Scope `read:recordings`. */
  async recording(callId: string, options?: RequestOptions): Promise<WithResponse<Recording>> {
    return this.core.call<Recording>("GET", `/calls/${id(callId)}/recording`, options);
  }
}
