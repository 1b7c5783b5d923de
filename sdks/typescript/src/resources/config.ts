import type { Core, RequestOptions, WithResponse } from "../core.js";
import type { AiConfig, AiConfigUpdateParams } from "../types.js";

export class Config {
  constructor(private readonly core: Core) {}

  /** The curated AI configuration. Scope `read:usage`. */
  async get(options?: RequestOptions): Promise<WithResponse<AiConfig>> {
    return this.core.call<AiConfig>("GET", "/config", options);
  }

  /** Update the safe subset; sensitive or unknown fields are refused with VALIDATION_ERROR. Scope `manage:config`. */
  async update(params: AiConfigUpdateParams, options?: RequestOptions): Promise<WithResponse<AiConfig>> {
    return this.core.call<AiConfig>("PATCH", "/config", { ...options, body: params });
  }
}
