import type { Core, RequestOptions, WithResponse } from "../core.js";
import type { PagePromise } from "../pagination.js";
import type { DeletedObject, ListParams } from "../types.js";

const id = encodeURIComponent;

/** list/get/create/update/delete on one collection path: tools, agents and data fields share it. */
export class CrudResource<T, CreateParams, UpdateParams, LP extends ListParams = ListParams> {
  constructor(
    protected readonly core: Core,
    private readonly path: string,
  ) {}

  list(params: LP = {} as LP, options?: RequestOptions): PagePromise<T, LP> {
    return this.core.list<T, LP>(this.path, params, options);
  }

  async get(objectId: string, options?: RequestOptions): Promise<WithResponse<T>> {
    return this.core.call<T>("GET", `${this.path}/${id(objectId)}`, options);
  }

  async create(params: CreateParams, options?: RequestOptions): Promise<WithResponse<T>> {
    return this.core.call<T>("POST", this.path, { ...options, body: params });
  }

  async update(objectId: string, params: UpdateParams, options?: RequestOptions): Promise<WithResponse<T>> {
    return this.core.call<T>("PATCH", `${this.path}/${id(objectId)}`, { ...options, body: params });
  }

  async delete(objectId: string, options?: RequestOptions): Promise<WithResponse<DeletedObject>> {
    return this.core.call<DeletedObject>("DELETE", `${this.path}/${id(objectId)}`, options);
  }
}
