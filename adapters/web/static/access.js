// What the signed-in user may do with a dataset (GET /dataset/{id}/access, an extension), and
// the reason to show on a write action a viewer may not take.

import { get } from "./api.js";
import * as endpoints from "./endpoints.js";

export function loadAccess(datasetId, signal) {
  return get(endpoints.datasetAccess(datasetId), signal);
}

export function writeBlockReason(access) {
  if (!access || access.can_edit) return null;
  return `You are a ${access.role} of this dataset; only its editors and owners can change it.`;
}
