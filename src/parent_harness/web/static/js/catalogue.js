// The event kinds as the hub describes them (GET /api/catalogue, from events/kinds.py):
// the rooms each event goes to and its level are applied here as data, so the
// dashboard never re-derives the hub's rules by hand. A type the hub does not
// describe (an older page on a newer hub, or the catalogue not loaded) goes to the
// room of its family, at level info.

import { getJSON } from './api.js';

let kinds = new Map();
let families = new Map();

/** Loads the catalogue; throws when the hub does not answer it (the page keeps the fallback). */
export async function loadCatalogue() {
  useCatalogue(await getJSON('/api/catalogue'));
}

/** Uses a catalogue document {kinds: [{type, room, rooms, level}, ...]}. */
export function useCatalogue(catalogue) {
  kinds = new Map(catalogue.kinds.map((kind) => [kind.type, kind]));
  families = new Map(catalogue.kinds.map((kind) => [kind.type.split(':', 1)[0], kind.room]));
}

/** The value at `path` in a payload, or undefined when a key on the way is absent. */
function at(payload, path) {
  let value = payload;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = value[key];
  }
  return value;
}

/** The rooms an event went to: its class room, then `<entity>:<value>` for each
 *  entity the kind names whose value is set (events/rooms.py `event_rooms`). */
export function roomsOf(msg) {
  const kind = kinds.get(msg.type);
  if (!kind) return [families.get(msg.type.split(':', 1)[0]) ?? 'events'];
  const rooms = [kind.room];
  for (const { entity, path } of kind.rooms) {
    const value = at(msg.payload, path);
    if (value) rooms.push(`${entity}:${value}`);
  }
  return [...new Set(rooms)];
}

/** An event's level, as the hub stores it for `GET /api/events?level=` (events/levels.py):
 *  fixed; else the payload's own; else the first case that holds; else the default. */
export function levelOf(msg) {
  const kind = kinds.get(msg.type);
  if (!kind) return msg.type.endsWith(':heartbeat') ? 'debug' : 'info';
  const { fixed, field, cases, default: otherwise } = kind.level;
  if (fixed) return fixed;
  if (field) return String(at(msg.payload, field) ?? otherwise);
  for (const { path, op, values, level } of cases) {
    const found = values.includes(at(msg.payload, path) ?? null);
    if (found === (op === 'in')) return level;
  }
  return otherwise;
}
