import type { Core, RequestOptions, WithResponse } from "../core.js";
import type { PagePromise } from "../pagination.js";
import type { Contact, ContactCreateParams, ContactListParams, ContactUpdateParams, DeletedObject } from "../types.js";

const id = encodeURIComponent;

export class Contacts {
  constructor(private readonly core: Core) {}

  /** Contacts, newest first. Scope `read:contacts`. */
  list(params: ContactListParams = {}, options?: RequestOptions): PagePromise<Contact, ContactListParams> {
    return this.core.list<Contact, ContactListParams>("/contacts", params, options);
  }

  /** Scope `read:contacts`. */
  async get(contactId: string, options?: RequestOptions): Promise<WithResponse<Contact>> {
    return this.core.call<Contact>("GET", `/contacts/${id(contactId)}`, options);
  }

  /** Scope `write:contacts`. `phoneNumber` is required and stored as E.164. */
  async create(params: ContactCreateParams, options?: RequestOptions): Promise<WithResponse<Contact>> {
    return this.core.call<Contact>("POST", "/contacts", { ...options, body: params });
  }

  /** Scope `write:contacts`. */
  async update(contactId: string, params: ContactUpdateParams, options?: RequestOptions): Promise<WithResponse<Contact>> {
    return this.core.call<Contact>("PATCH", `/contacts/${id(contactId)}`, { ...options, body: params });
  }

  /** Erase a contact: its calls and texts stay, unlinked. A second delete is a `NotFoundError`. Scope `write:contacts`. */
  async delete(contactId: string, options?: RequestOptions): Promise<WithResponse<DeletedObject>> {
    return this.core.call<DeletedObject>("DELETE", `/contacts/${id(contactId)}`, options);
  }
}
