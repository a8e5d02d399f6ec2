// A visitor's live connection to Kefu (protocol v1, docs/protocol.md): the hello, resume, pings,
// reconnecting with jittered backoff, and the outbox that keeps every message until the server
// acknowledges it — in localStorage, so a reload or a dead network loses nothing.
// The loader (embed.js) holds one per tab; the stand-alone chat page holds its own.

/** @typedef {import('../../crates/chat-core/bindings/protocol').ServerFrame} ServerFrame */
/** @typedef {import('../../crates/chat-core/bindings/protocol').VisitorFrame} VisitorFrame */
/** @typedef {import('../../crates/chat-core/bindings/protocol').PageInfo} PageInfo */
/** @typedef {import('../../crates/chat-core/bindings/protocol').VisitorIdentity} VisitorIdentity */
/** @typedef {import('../../crates/chat-core/bindings/protocol').AttachmentView} AttachmentView */
/** @typedef {Extract<ServerFrame, {type: 'welcome'}>} Welcome */

/**
 * A message waiting for its `ack`. `file` is what the window shows while it waits; `sent` says it
 * went out on a socket (the server may not have stored it yet).
 * @typedef {{cid: string, body: string, attachment?: string, file?: AttachmentView, at: number,
 *   sent?: boolean}} OutboxItem
 */

/**
 * `connecting` before the first welcome, `open` after it, `reconnecting` while the socket is down,
 * `refused` when the server will not have this page (another origin, an unknown site): for good.
 * @typedef {'connecting' | 'open' | 'reconnecting' | 'refused'} ConnectionState
 */

/** Codes whose sends may succeed later (docs/protocol.md, rule 6). */
const RETRYABLE = ['rate_limited', 'unavailable', 'internal'];
const PING_MS = 25000;
/** No pong within this after a ping (or no welcome after opening): the connection is dead even if the socket has not noticed. */
const PONG_WAIT_MS = 10000;
const RETRY_SEND_MS = 3000;

/**
 * localStorage (shared by the visitor's tabs) or sessionStorage (this tab's), or nothing where it
 * is blocked (sandboxed frames, some private modes).
 * @param {'localStorage' | 'sessionStorage'} which
 */
export function storage(which) {
  try {
    const s = window[which];
    s.setItem('kefu.probe', '1');
    s.removeItem('kefu.probe');
    return s;
  } catch (_) {
    return null;
  }
}

/** A random id for a message (also on pages without crypto.randomUUID, served over http). */
export function newCid() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class Connection {
  /** @type {string} */ #url;
  /** The socket's address at Kefu's own address. @type {string} */ #home;
  /** Where Kefu's own address says the site's room is. @type {string} */ #route;
  /** @type {string} */ #siteKey;
  /** @type {string} */ #prefix;
  /** @type {{frame: (frame: ServerFrame) => void, state: (state: ConnectionState) => void, outbox: (items: OutboxItem[]) => void}} */ #on;
  /** @type {() => PageInfo} */ #page;
  /** What the visitor's tabs share: the token and the outbox. @type {Storage | null} */ #store = storage('localStorage');
  /** What this tab alone holds: how far it has read (tabs read at their own pace). @type {Storage | null} */ #tab = storage('sessionStorage');
  /** @type {WebSocket | null} */ #ws = null;
  #attempt = 0;
  /** @type {number | undefined} */ #timer;
  /** @type {number | undefined} */ #pinger;
  #lastHeard = 0;
  /** A wait the server asked for in `reconnect`, used once. */
  #retryAfter = 0;
  /** Everything kept, also in memory: all there is while storage is blocked or full. @type {Record<string, string | null>} */
  #memory = {};
  /** The storage refused a write: from then on memory is the truth. */
  #storeFailed = false;
  /** Sends refused for now: the outbox goes again from the first of them, ever more slowly. @type {Set<string>} */
  #refusedNow = new Set();
  /** Set while they wait; new messages wait behind them (the order they were written in holds). @type {number | undefined} */
  #hold;
  #refusals = 0;
  /** @type {ConnectionState} */
  state = 'connecting';
  /** @type {Welcome | null} */
  welcome = null;
  /** @type {VisitorIdentity | null} */
  identity = null;

  /**
   * @param {string} base Kefu's address, `https://chat.example`
   * @param {string} siteKey the site's public key
   * @param {{frame: (frame: ServerFrame) => void, state: (state: ConnectionState) => void,
   *   outbox: (items: OutboxItem[]) => void}} on
   * @param {() => PageInfo} page the page the visitor is on now
   */
  constructor(base, siteKey, on, page) {
    // The site in the address too: the edge routes the socket to the site's room before the hello.
    this.#url = this.#home = base.replace(/^http/, 'ws') + '/ws/visitor?site=' + encodeURIComponent(siteKey);
    this.#route = base + '/route/' + encodeURIComponent(siteKey);
    this.#siteKey = siteKey;
    this.#prefix = 'kefu.' + siteKey + '.';
    this.#on = on;
    this.#page = page;
  }

  /** @param {string} name */
  #read(name) {
    const store = name === 'seen' ? this.#tab : this.#store;
    try {
      // Another tab may have changed it: the storage is the truth while it works.
      if (store && !this.#storeFailed) return store.getItem(this.#prefix + name);
    } catch (_) {}
    return this.#memory[name] ?? null;
  }

  /** @param {string} name @param {string | null} value */
  #write(name, value) {
    this.#memory[name] = value;
    const store = name === 'seen' ? this.#tab : this.#store;
    try {
      if (value === null) store?.removeItem(this.#prefix + name);
      else store?.setItem(this.#prefix + name, value);
    } catch (_) {
      // Full or blocked: what is kept lives in memory for this page's life.
      this.#storeFailed = true;
    }
  }

  get token() {
    return this.#read('token');
  }

  /** @returns {OutboxItem[]} */
  outbox() {
    try {
      return JSON.parse(this.#read('outbox') || '[]');
    } catch (_) {
      return [];
    }
  }

  /** @param {OutboxItem[]} items */
  #saveOutbox(items) {
    this.#write('outbox', items.length ? JSON.stringify(items) : null);
    this.#on.outbox(items);
  }

  /** @param {string} cid */
  #dropFromOutbox(cid) {
    const items = this.outbox();
    const left = items.filter((item) => item.cid !== cid);
    if (left.length !== items.length) this.#saveOutbox(left);
  }

  /** The highest `seq` this tab holds of the current conversation, for the resume point. */
  get #seen() {
    try {
      return JSON.parse(this.#read('seen') || 'null');
    } catch (_) {
      return null;
    }
  }

  /** @param {string} conversation @param {number} seq */
  #saw(conversation, seq) {
    const seen = this.#seen;
    if (!seen || seen.conversation !== conversation || seen.seq < seq) {
      this.#write('seen', JSON.stringify({ conversation, seq }));
    }
  }

  start() {
    addEventListener('online', () => this.reconnectNow());
    // The browser knows the network is gone: do not wait for pings to find out.
    addEventListener('offline', () => this.#drop());
    this.#connect();
  }

  /** Gives up the socket now and reconnects with backoff. */
  #drop() {
    const ws = this.#ws;
    if (!ws) return;
    this.#ws = null;
    clearInterval(this.#pinger);
    ws.close();
    this.#closed(1006);
  }

  async #connect() {
    clearTimeout(this.#timer);
    // From Kefu's own address, ask where the site's room is first (a cluster's node; docs/rest.md).
    if (this.#url === this.#home) {
      try {
        // An unknown key answers 404 without a url: the socket's refusal then says why.
        this.#url = new URL((await (await fetch(this.#route)).json()).url || '', this.#home).href;
      } catch (_) {}
      if (this.#ws) return;
    }
    let ws;
    try {
      ws = new WebSocket(this.#url);
    } catch (_) {
      return this.#retry();
    }
    this.#ws = ws;
    // A network that drops packets can leave the opening hanging: no welcome in time, try again.
    const opened = Date.now();
    setTimeout(() => {
      if (this.#ws === ws && this.#lastHeard < opened) this.#drop();
    }, PONG_WAIT_MS);
    ws.onopen = () => {
      const seen = this.#seen;
      /** @type {VisitorFrame} */
      const hello = {
        type: 'visitor_hello',
        v: 1,
        site_key: this.#siteKey,
        visitor_token: this.token,
        page: this.#page(),
        // The user agent: the server reads it from the socket's request.
        device: /** @type {import('../../crates/chat-core/bindings/protocol').DeviceInfo} */ ({
          language: navigator.language,
          screen: screen.width + 'x' + screen.height,
        }),
        identity: this.identity,
        resume: seen ? [{ conversation: seen.conversation, last_seq: seen.seq }] : [],
      };
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (event) => {
      this.#lastHeard = Date.now();
      // The server sends JSON only; anything else throws here and is dropped.
      this.#receive(JSON.parse(event.data));
    };
    ws.onclose = (event) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      clearInterval(this.#pinger);
      this.#closed(event.code);
    };
  }

  /** @param {ServerFrame} frame */
  #receive(frame) {
    switch (frame.type) {
      case 'welcome':
        this.welcome = frame;
        this.#attempt = 0;
        this.#write('token', frame.visitor_token);
        if (frame.conversation) this.#saw(frame.conversation.id, 0);
        this.#setState('open');
        this.#pinger = setInterval(() => this.#ping(), PING_MS);
        clearTimeout(this.#hold);
        this.#hold = undefined;
        this.#refusedNow.clear();
        this.#flush();
        break;
      case 'ack':
        if (!this.#hold) this.#refusals = 0;
        this.#dropFromOutbox(frame.cid);
        this.#saw(frame.conversation, frame.seq);
        break;
      case 'message':
        // Another tab of this visitor sent it: it is stored, so this tab's copy is done too.
        if (frame.sender.party === 'visitor' && frame.cid) this.#dropFromOutbox(frame.cid);
        this.#saw(frame.conversation, frame.seq);
        break;
      case 'error':
        if (frame.cid) this.#refused(frame.cid, frame.code);
        break;
      case 'reconnect':
        this.#attempt = 0;
        this.#retryAfter = frame.after_ms;
        // Sent on to the node of a cluster that hosts the site.
        if (frame.url) this.#url = frame.url;
        break;
    }
    this.#on.frame(frame);
  }

  /**
   * A send was refused: kept and tried again later, or dropped for good (the `error` frame, passed
   * on, tells the window which).
   * @param {string} cid @param {string} code
   */
  #refused(cid, code) {
    if (!RETRYABLE.includes(code)) return this.#dropFromOutbox(cid);
    this.#refusedNow.add(cid);
    // 3 s, 6 s, 12 s … up to a minute while refusals go on, each up to half longer at random so
    // that visitors refused together do not all come back together. A reconnect sends it all anyway.
    this.#hold ??= setTimeout(() => {
      const items = this.outbox();
      const from = items.findIndex((i) => this.#refusedNow.has(i.cid));
      this.#hold = undefined;
      this.#refusedNow.clear();
      for (const item of items.slice(Math.max(from, 0))) this.#transmit(item);
    }, Math.min(60000, RETRY_SEND_MS * 2 ** this.#refusals++) * (1 + Math.random() / 2));
  }

  /** @param {number} code */
  #closed(code) {
    // 4000: unknown site or a bad hello; 4003: this page's origin may not embed the site.
    if (code === 4000 || code === 4003) {
      this.#setState('refused');
      return;
    }
    // 4001: the visitor token is not good here any more; start again as a new visitor.
    if (code === 4001) {
      this.#write('token', null);
      this.welcome = null;
    }
    // Failing again and again (a cluster's node it was sent to may be gone): back to Kefu's
    // address, to ask again where the site is now.
    if (this.#attempt >= 3) this.#url = this.#home;
    this.#setState('reconnecting');
    this.#retry();
  }

  #retry() {
    // Jittered exponential backoff: 0.5 s, 1 s, 2 s, … up to 30 s; or what the server asked.
    const wait =
      this.#retryAfter || Math.min(30000, 500 * 2 ** this.#attempt) * (0.5 + Math.random() / 2);
    this.#retryAfter = 0;
    this.#attempt++;
    this.#timer = setTimeout(() => this.#connect(), wait);
  }

  reconnectNow() {
    if (this.state === 'refused' || (this.#ws && this.state === 'open')) return;
    this.#attempt = 0;
    if (!this.#ws) this.#connect();
  }

  #ping() {
    if (!this.#ws) return;
    const asked = Date.now();
    this.send({ type: 'ping', t: asked });
    setTimeout(() => {
      if (this.#lastHeard < asked) this.#drop();
    }, PONG_WAIT_MS);
  }

  /** @param {ConnectionState} state */
  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.#on.state(state);
  }

  /**
   * Sends a frame now if the socket is open; true if it went.
   * @param {VisitorFrame} frame
   */
  send(frame) {
    if (!this.#ws || this.#ws.readyState !== 1 || this.state !== 'open') return false;
    this.#ws.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Puts a message in the outbox and sends it when it can.
   * @param {string} body @param {string} [attachment] @param {AttachmentView} [file]
   */
  queue(body, attachment, file) {
    /** @type {OutboxItem} */
    const item = { cid: newCid(), body, at: Date.now() };
    if (attachment) {
      item.attachment = attachment;
      item.file = file;
    }
    this.#saveOutbox(this.outbox().concat(item));
    this.#transmit(item);
    return item.cid;
  }

  /** @param {OutboxItem} item */
  #transmit(item) {
    if (this.#hold) return;
    /** @type {VisitorFrame} */
    const frame = { type: 'send', cid: item.cid, body: item.body };
    if (item.attachment) frame.attachment = item.attachment;
    if (this.send(frame) && !item.sent) {
      const items = this.outbox();
      const kept = items.find((i) => i.cid === item.cid);
      if (kept) {
        kept.sent = true;
        this.#saveOutbox(items);
      }
    }
  }

  /** After every welcome: everything not acknowledged goes again (the server stores it once). */
  #flush() {
    for (const item of this.outbox()) this.#transmit(item);
  }

  /** @param {VisitorIdentity} identity */
  identify(identity) {
    this.identity = identity;
    this.send({ type: 'identify', ...identity });
  }

  /** The page is going away: leave at once rather than let the server time the socket out. */
  leave() {
    if (this.#ws) this.#ws.close(1000);
  }
}
