// The Telegram page: messages in and out, as telegram:message events carry them.

import { getJSON } from '../api.js';
import { h, KeyedList, setAttr, setText } from '../dom.js';
import { count, dateTime } from '../format.js';
import { upToMoment, viewing } from '../moment.js';
import { link } from '../router.js';

const HISTORY = 200;

export class TelegramView {
  constructor({ store }) {
    this.store = store;
    this.loaded = false;
    this.el = h('section', { class: 'page page-telegram', testid: 'page-telegram' });
    this.listEl = h('ol', { class: 'messages', testid: 'telegram-list' });
    this.rows = new KeyedList(this.listEl, {
      create: createMessage,
      update: updateMessage,
      limit: HISTORY * 2,
    });
    this.summary = h('span', { class: 'muted', testid: 'telegram-count' });
    this.empty = h('p', { class: 'empty', testid: 'telegram-empty' }, 'No Telegram messages yet.');
    this.el.append(
      h('div', { class: 'toolbar' }, h('h1', {}, 'Telegram'), this.summary),
      h('section', { class: 'panel' }, this.listEl, this.empty),
    );
  }

  async show() {
    if (viewing()) {
      // A past moment: the messages up to it, into the past store (emptied at each moment).
      try {
        const query = { type: 'telegram:message', order: 'desc', limit: HISTORY, ...upToMoment() };
        this.store.backfillTelegram((await getJSON('/api/events', query)).items);
      } catch (error) {
        console.warn('telegram history unavailable:', error.message);
      }
    } else if (!this.loaded) {
      this.loaded = true;
      try {
        const page = await getJSON('/api/events', {
          type: 'telegram:message',
          order: 'desc',
          limit: HISTORY,
        });
        this.store.backfillTelegram(page.items);
      } catch (error) {
        this.loaded = false;
        console.warn('telegram history unavailable:', error.message);
      }
    }
    this.renderAll();
  }

  renderAll() {
    this.rows.clear();
    this.rows.prependMany(this.store.telegram.items, (m) => m.seq);
    this.renderSummary();
  }

  update(changes) {
    if (changes.reset || changes.streamReloaded) return this.renderAll();
    if (changes.telegram.length) this.rows.prependMany(changes.telegram, (m) => m.seq);
    this.renderSummary();
  }

  renderSummary() {
    this.empty.hidden = this.rows.size > 0;
    setText(this.summary, `${count(this.rows.size)} messages`);
  }
}

function createMessage() {
  const li = h('li', { class: 'message', testid: 'telegram-message' });
  li.parts = {
    direction: h('span', { class: 'badge', testid: 'telegram-direction' }),
    chat: h('span', { class: 'mono' }),
    at: h('time', { class: 'muted' }),
    about: h('a', { class: 'muted' }),
    text: h('p', { class: 'message-text', testid: 'telegram-text' }),
  };
  const p = li.parts;
  li.append(h('div', { class: 'message-head' }, p.direction, p.chat, p.at, p.about), p.text);
  return li;
}

function updateMessage(li, msg) {
  const m = msg.payload.message;
  const p = li.parts;
  setAttr(li, 'data-direction', m.direction);
  setAttr(li, 'data-seq', msg.seq);
  setText(p.direction, m.direction === 'in' ? 'in ←' : 'out →');
  setAttr(p.direction, 'data-direction', m.direction);
  setText(p.chat, `chat ${m.chat_id}`);
  setText(p.at, dateTime(m.at ?? msg.timestamp));
  setText(p.about, m.about_seq != null ? `about event #${m.about_seq}` : '');
  setAttr(p.about, 'href', m.about_seq != null ? link('events', m.about_seq) : null);
  setText(p.text, m.text);
}
