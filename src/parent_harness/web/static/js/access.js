// What this tab's token may do (GET /api/access): a read-only token sees every page but
// none of the buttons that act. Until the hub has answered, nothing acts.

import { getJSON } from './api.js';

let granted = { role: 'read', may_publish: false, rooms: null };

/** Asks the hub what the token may do; keeps read-only when it does not answer. */
export async function loadAccess() {
  try {
    granted = await getJSON('/api/access');
  } catch (error) {
    granted = { role: 'read', may_publish: false, rooms: null };
    console.warn('access unknown, acting disabled:', error.message);
  }
  return granted;
}

/** True when the token may publish (answer, merge, cancel). */
export function mayAct() {
  return granted.may_publish === true;
}
