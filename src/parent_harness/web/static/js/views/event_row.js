// One row of an event stream: time, seq, type, level and what happened.

import { levelOf, summarize } from '../describe.js';
import { h, setAttr, setText } from '../dom.js';
import { clock } from '../format.js';
import { link } from '../router.js';

/** An empty event row; call updateEventRow to fill it. */
export function createEventRow() {
  const row = h('li', { class: 'event-row', testid: 'event-row' });
  row.parts = {
    time: h('time', { class: 'event-time' }),
    seq: h('a', { class: 'event-seq', testid: 'event-seq' }),
    type: h('span', { class: 'event-type', testid: 'event-type' }),
    text: h('span', { class: 'event-text', testid: 'event-text' }),
  };
  row.append(row.parts.time, row.parts.seq, row.parts.type, row.parts.text);
  return row;
}

export function updateEventRow(row, msg) {
  const p = row.parts;
  row.msg = msg;
  setAttr(row, 'data-seq', msg.seq);
  setAttr(row, 'data-type', msg.type);
  setAttr(row, 'data-level', levelOf(msg));
  setText(p.time, clock(msg.timestamp));
  setAttr(p.time, 'datetime', msg.timestamp);
  setText(p.seq, `#${msg.seq}`);
  setAttr(p.seq, 'href', link('events', msg.seq));
  setText(p.type, msg.type);
  setText(p.text, summarize(msg));
}
