import type { Core, RequestOptions } from "../core.js";
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
  async get(callId: string, options?: RequestOptions): Promise<CallDetail> {
    return (await this.core.request<CallDetail>("GET", `/calls/${id(callId)}`, options)).data;
  }

  /** The speaker-attributed transcript. Scope `read:transcripts`. */
  async transcript(callId: string, options?: RequestOptions): Promise<Transcript> {
    return (await this.core.request<Transcript>("GET", `/calls/${id(callId)}/transcript`, options)).data;
  }

  /** A signed, expiring recording URL. Scope `read:recordings`. */
  async recording(callId: string, options?: RequestOptions): Promise<Recording> {
    return (await this.core.request<Recording>("GET", `/calls/${id(callId)}/recording`, options)).data;
  }
}
