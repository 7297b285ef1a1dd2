// Tenants. Listing is tolerated to be missing (the spine only has POST /orgs).
import { ApiError, request } from './http.ts';
import type { Org, OrgKind } from './sites.ts';

export const orgsApi = {
  create: (org: { name: string; kind: OrgKind }) => request<Org>('/orgs', { body: org }),
  /** Null when this hub has no GET /orgs yet; callers then derive org ids from sites. */
  list: async (): Promise<Org[] | null> => {
    try {
      return await request<Org[]>('/orgs');
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return null;
      throw err;
    }
  },
};
