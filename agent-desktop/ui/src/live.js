// The agent's live connections (docs/protocol.md): `GET /api/v1/live` names the endpoints, one
// socket is opened per endpoint and what they say is merged (frames name their site, so it does
// not matter which socket a site lives on). Each socket says hello with a fresh access token and
// what the console holds, pings, refreshes its token before it expires, and reconnects with
// jittered backoff. Messages wait in an outbox until their `ack`.

/** @typedef {import('../../../crates/chat-core/bindings/protocol').ServerFrame} ServerFrame */
/** @typedef {import('../../../crates/chat-core/bindings/protocol').AgentFrame} AgentFrame */
/** @typedef {import('../../../crates/chat-core/bindings/protocol').AgentStatus} AgentStatus */
/** @typedef {import('../../../crates/chat-core/bindings/protocol').ResumePoint} ResumePoint */
/** @typedef {import('./api.js').Api} Api */
/** @typedef {'connecting' | 'open' | 'reconnecting'} LiveState */
/** @typedef {import('../../../crates/chat-core/bindings/protocol').AttachmentView} AttachmentView */
/**
 * A message waiting for its `ack`; `attachment` is the upload's token, `file` what it is.
 * @typedef {{cid: string, site: string, conversation: string, body: string, note: boolean,
 *   attachment?: string, file?: AttachmentView}} Pending
 */

const PING_MS = 25_000;
const PONG_WAIT_MS = 10_000;
const RETRY_SEND_MS = 2_000;
/** Codes whose sends may succeed later (docs/protocol.md, rule 6). */
const RETRYABLE = ['rate_limited', 'unavailable', 'internal'];
/** At most this many conversations are named in a hello (MAX_RESUME_POINTS). */
const MAX_RESUME = 200;

/** A random client id for a message. */
function newCid() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export class Live {
  /** @type {Api} */ #api;
  /** @type {{frame: (frame: ServerFrame) => void, state: (state: LiveState) => void, ended: () => void}} */ #on;
  /** @type {Socket[]} */ #sockets = [];
  /** The highest `seq` held of each conversation, for resuming. @type {Map<string, number>} */
  held = new Map();
  /** Messages not yet acknowledged, in the order written. @type {Pending[]} */
  outbox = [];
  /** Messages the server will never take, with why. @type {(Pending & {reason: string})[]} */
  failed = [];
  /** @type {AgentStatus} */ status = 'online';
  /** The agent, once welcomed. */ me = '';
  /** @type {LiveState} */ state = 'connecting';
  #stopped = false;

  /**
   * @param {Api} api
   * @param {{frame: (frame: ServerFrame) => void, state: (state: LiveState) => void, ended: () => void}} on
   */
  constructor(api, on) {
    this.#api = api;
    this.#on = on;
  }

  /** Asks where to connect, then connects to every endpoint. */
  async start() {
    /** @type {{endpoints: {url: string, sites: string[]}[]}} */
    const live = await this.#api.request('GET', '/live');
    if (this.#stopped) return;
    this.#sockets = live.endpoints.map((endpoint) => new Socket(this, endpoint.url, endpoint.sites));
    for (const socket of this.#sockets) socket.connect();
  }

  stop() {
    this.#stopped = true;
    for (const socket of this.#sockets) socket.stop();
  }

  /** Asks again where to connect and connects anew (the agent's sites changed). */
  async restart() {
    for (const socket of this.#sockets) socket.stop();
    this.#sockets = [];
    this.#stopped = false;
    await this.start();
  }

  /** Reconnects every socket that is down, now. */
  reconnectNow() {
    for (const socket of this.#sockets) socket.reconnectNow();
  }

  /** The computer slept: a socket that looks open may be dead, so each proves it or reconnects. */
  wake() {
    for (const socket of this.#sockets) socket.wake();
  }

  get api() {
    return this.#api;
  }

  /** @param {ServerFrame} frame @param {Socket} from */
  received(frame, from) {
    switch (frame.type) {
      case 'agent_welcome':
        this.me = frame.agent;
        break;
      case 'message':
        this.held.set(frame.conversation, Math.max(this.held.get(frame.conversation) || 0, frame.seq));
        break;
      case 'ack': {
        this.held.set(frame.conversation, Math.max(this.held.get(frame.conversation) || 0, frame.seq));
        const pending = this.outbox.find((m) => m.cid === frame.cid);
        if (!pending) break;
        this.outbox = this.outbox.filter((m) => m !== pending);
        // The sender gets the ack in its message's place: the message is this, stored at `seq`.
        this.#on.frame({
          type: 'message',
          site: pending.site,
          conversation: frame.conversation,
          seq: frame.seq,
          sender: { party: 'agent', id: this.me },
          kind: pending.note ? 'note' : 'text',
          body: pending.body,
          cid: pending.cid,
          at: Date.now(),
          attachment: pending.file,
        });
        break;
      }
      case 'error': {
        const pending = this.outbox.find((m) => m.cid === frame.cid);
        if (!pending) break;
        if (RETRYABLE.includes(frame.code)) {
          from.refused(pending.cid);
          break;
        }
        // Never to be taken: shown with the reason instead of waiting for ever.
        this.outbox = this.outbox.filter((m) => m !== pending);
        this.failed.push({ ...pending, reason: frame.message });
        break;
      }
    }
    this.#on.frame(frame);
  }

  /** The sockets' states together: open only when every one is. */
  changed() {
    const states = this.#sockets.map((s) => s.state);
    /** @type {LiveState} */
    const state = states.every((s) => s === 'open')
      ? 'open'
      : states.some((s) => s === 'reconnecting')
        ? 'reconnecting'
        : 'connecting';
    if (state !== this.state) {
      this.state = state;
      this.#on.state(state);
    }
  }

  /** The session is over (a refresh was refused): every socket stops. */
  ended() {
    this.stop();
    this.#on.ended();
  }

  /**
   * The socket that serves `site` (the first one, when an endpoint does not list its sites).
   * @param {string} site
   */
  #socketFor(site) {
    return this.#sockets.find((s) => s.sites.includes(site)) || this.#sockets.find((s) => s.sites.length === 0);
  }

  /**
   * Sends a frame about a site now, if its socket is open; a status goes to every socket.
   * @param {AgentFrame} frame
   */
  send(frame) {
    if (frame.type === 'status') {
      this.status = frame.status;
      for (const socket of this.#sockets) socket.send(frame);
      return;
    }
    if ('site' in frame) this.#socketFor(frame.site)?.send(frame);
  }

  /**
   * A message into a conversation: kept until acknowledged, sent again after every reconnect.
   * @param {string} site @param {string} conversation @param {string} body @param {boolean} note
   * @param {{token: string, file: AttachmentView}} [upload] a file uploaded for it
   */
  sendMessage(site, conversation, body, note, upload) {
    /** @type {Pending} */
    const pending = { cid: newCid(), site, conversation, body, note };
    if (upload) {
      pending.attachment = upload.token;
      pending.file = upload.file;
    }
    this.outbox.push(pending);
    this.#socketFor(site)?.transmit(pending);
    return pending.cid;
  }

  /** What the console holds, for a hello: the conversations seen most recently. */
  resume() {
    /** @type {ResumePoint[]} */
    const points = [];
    for (const [conversation, last_seq] of this.held) points.push({ conversation, last_seq });
    return points.slice(-MAX_RESUME);
  }
}

/** One endpoint's socket. */
class Socket {
  /** @type {Live} */ #live;
  /** @type {string} */ #url;
  /** @type {WebSocket | null} */ #ws = null;
  #attempt = 0;
  /** @type {number | undefined} */ #timer;
  /** @type {number | undefined} */ #pinger;
  /** @type {number | undefined} */ #refresher;
  #lastHeard = 0;
  #stopped = false;
  /** @type {Set<string>} */ #refusedNow = new Set();
  /** @type {number | undefined} */ #hold;
  #refusals = 0;
  /** @type {'connecting' | 'open' | 'reconnecting'} */ state = 'connecting';

  /** @param {Live} live @param {string} url @param {string[]} sites */
  constructor(live, url, sites) {
    this.#live = live;
    const base = new URL(live.api.base);
    const resolved = new URL(url, base);
    if (resolved.protocol === 'http:') resolved.protocol = 'ws:';
    if (resolved.protocol === 'https:') resolved.protocol = 'wss:';
    this.#url = resolved.href;
    this.sites = sites;
  }

  async connect() {
    if (this.#stopped) return;
    let token;
    try {
      token = await this.#live.api.accessToken();
    } catch (error) {
      if (/** @type {{status?: number}} */ (error).status === 401) return this.#live.ended();
      return this.#retry();
    }
    const ws = new WebSocket(this.#url);
    this.#ws = ws;
    const given = setTimeout(() => ws.readyState !== WebSocket.OPEN || this.state !== 'open' ? this.#drop() : 0, PONG_WAIT_MS);
    ws.onopen = () => {
      ws.send(
        JSON.stringify({
          type: 'agent_hello',
          v: 1,
          access_token: token,
          status: this.#live.status,
          resume: this.#live.resume(),
        }),
      );
    };
    ws.onmessage = (event) => {
      this.#lastHeard = Date.now();
      /** @type {ServerFrame} */
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      if (frame.type === 'agent_welcome') {
        clearTimeout(given);
        this.#attempt = 0;
        this.#set('open');
        this.#pinger = setInterval(() => this.#ping(), PING_MS);
        this.#planRefresh();
        clearTimeout(this.#hold);
        this.#hold = undefined;
        this.#refusedNow.clear();
        for (const pending of this.#mine()) this.transmit(pending);
      }
      if (frame.type === 'refreshed') this.#planRefresh();
      if (frame.type === 'reconnect') {
        this.#attempt = 0;
        // Another node of a cluster hosts the site: this socket goes there from now on.
        if (frame.url) this.#url = frame.url;
      }
      if (frame.type === 'ack') this.#refusals = this.#hold ? this.#refusals : 0;
      this.#live.received(frame, this);
    };
    ws.onclose = (event) => {
      clearTimeout(given);
      this.#closed(ws, event.code);
    };
  }

  /** @param {'connecting' | 'open' | 'reconnecting'} state */
  #set(state) {
    this.state = state;
    this.#live.changed();
  }

  /** The outbox's messages for this socket's sites. */
  #mine() {
    return this.#live.outbox.filter((m) => this.sites.length === 0 || this.sites.includes(m.site));
  }

  /** @param {WebSocket} ws @param {number} code */
  #closed(ws, code) {
    if (ws !== this.#ws) return;
    this.#ws = null;
    clearInterval(this.#pinger);
    clearTimeout(this.#refresher);
    if (this.#stopped) return;
    // 4003: the account may not use these sites any more (disabled, sites taken away).
    if (code === 4003) return this.#live.ended();
    this.#set('reconnecting');
    // 4001: the token was refused; a fresh one is fetched on the next attempt (or the session is over).
    if (code === 4001) {
      this.#live.api.refresh().then(
        () => this.#retry(),
        (error) => (error.status === 401 ? this.#live.ended() : this.#retry()),
      );
      return;
    }
    this.#retry();
  }

  #retry() {
    clearTimeout(this.#timer);
    const wait = Math.min(30_000, 500 * 2 ** this.#attempt) * (0.5 + Math.random() / 2);
    this.#attempt++;
    this.#timer = setTimeout(() => this.connect(), wait);
  }

  /** A fresh token sent over the socket a minute before this one expires (sooner for short ones). */
  #planRefresh() {
    clearTimeout(this.#refresher);
    const left = this.#live.api.expiresAt - Date.now();
    const due = Math.max(1_000, Math.min(left - 60_000, left * 0.8));
    this.#refresher = setTimeout(async () => {
      try {
        const access_token = await this.#live.api.refresh();
        this.send({ type: 'refresh', access_token });
      } catch (_) {
        // The socket closes with 4001 when its token runs out; the reconnect tries again.
      }
    }, due);
  }

  #ping() {
    const asked = Date.now();
    this.send({ type: 'ping', t: asked });
    setTimeout(() => {
      if (this.#lastHeard < asked) this.#drop();
    }, PONG_WAIT_MS);
  }

  /** The connection is dead though the socket has not noticed: give it up and reconnect. */
  #drop() {
    const ws = this.#ws;
    if (!ws) return;
    ws.onclose = null;
    ws.close();
    this.#closed(ws, 1006);
  }

  /** After a sleep: an open socket pings (and is dropped if nothing answers); a closed one reconnects. */
  wake() {
    if (this.state === 'open') this.#ping();
    else this.reconnectNow();
  }

  /** Reconnects at once (the network came back, the computer woke up). */
  reconnectNow() {
    if (this.state === 'open') return;
    this.#attempt = 0;
    clearTimeout(this.#timer);
    if (!this.#ws) this.connect();
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#pinger);
    clearTimeout(this.#refresher);
    clearTimeout(this.#hold);
    this.#ws?.close(1000);
  }

  /** @param {AgentFrame} frame */
  send(frame) {
    if (!this.#ws || this.#ws.readyState !== WebSocket.OPEN || this.state !== 'open') return false;
    this.#ws.send(JSON.stringify(frame));
    return true;
  }

  /** @param {Pending} pending */
  transmit(pending) {
    if (this.#hold) return;
    const { cid, site, conversation, body, note, attachment } = pending;
    this.send({ type: 'send', site, conversation, cid, body, note, ...(attachment ? { attachment } : {}) });
  }

  /**
   * A send was turned away for now: after a backoff the outbox goes again from it on, and nothing
   * new goes ahead of it.
   * @param {string} cid
   */
  refused(cid) {
    this.#refusedNow.add(cid);
    this.#hold ??= setTimeout(() => {
      const mine = this.#mine();
      const from = mine.findIndex((m) => this.#refusedNow.has(m.cid));
      this.#hold = undefined;
      this.#refusedNow.clear();
      for (const pending of mine.slice(Math.max(from, 0))) this.transmit(pending);
    }, Math.min(60_000, RETRY_SEND_MS * 2 ** this.#refusals++) * (1 + Math.random() / 2));
  }
}
