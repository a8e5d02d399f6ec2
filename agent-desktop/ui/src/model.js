// What the console knows, merged from every socket: the agent, their sites, the agents and
// visitors on each site, conversations, their messages and the visitors' typing previews. Views
// read it; only `apply` (frames) and `history` (REST pages) change it.

/** @typedef {import('../../../crates/chat-core/bindings/protocol').ServerFrame} ServerFrame */
/** @typedef {import('../../../crates/chat-core/bindings/protocol').MessageView} MessageView */
/** @typedef {import('../../../crates/chat-core/bindings/protocol').ConversationView} ConversationView */
/** @typedef {import('../../../crates/chat-core/bindings/protocol').LiveVisitorView} LiveVisitorView */
/** @typedef {import('../../../crates/chat-core/bindings/protocol').AgentPresenceView} AgentPresenceView */
/** @typedef {import('../../../crates/chat-core/bindings/protocol').Role} Role */
/** @typedef {LiveVisitorView & {site: string}} SiteVisitor */

/** How long a typing preview is shown after the last one came. */
const PREVIEW_SHOWN_MS = 6_000;

export class Model {
  /** @type {{id: string, name: string, role: Role, tenant: string} | null} */ me = null;
  /** @type {Map<string, string>} site id → name */ sites = new Map();
  /** @type {Map<string, Map<string, AgentPresenceView>>} site → agent id → presence */ agents = new Map();
  /** @type {Map<string, SiteVisitor>} `site/visitor` → visitor */ visitors = new Map();
  /** @type {Map<string, number>} site → visitors on it beyond those listed (a site with very many) */ unlisted = new Map();
  /** @type {Map<string, ConversationView>} */ conversations = new Map();
  /** @type {Map<string, Map<number, MessageView>>} conversation → seq → message */ messages = new Map();
  /** @type {Map<string, {text: string, until: number}>} `site/visitor` → the visitor's draft */ previews = new Map();

  /** @param {string} site @param {string} visitor */
  static key(site, visitor) {
    return site + '/' + visitor;
  }

  /**
   * Takes in one frame; true when it changed something a view shows.
   * @param {ServerFrame} f
   */
  apply(f) {
    switch (f.type) {
      case 'agent_welcome':
        this.me = { id: f.agent, name: f.name, role: f.role, tenant: f.tenant };
        for (const site of f.sites) this.sites.set(site.id, site.name);
        return true;
      case 'site_state': {
        this.agents.set(f.site, new Map(f.agents.map((a) => [a.agent, a])));
        for (const [key, visitor] of this.visitors) if (visitor.site === f.site) this.visitors.delete(key);
        for (const visitor of f.visitors) this.visitors.set(Model.key(f.site, visitor.visitor), { ...visitor, site: f.site });
        this.unlisted.set(f.site, Math.max(0, f.visitors_total - f.visitors.length));
        for (const conversation of f.conversations) this.conversations.set(conversation.id, conversation);
        return true;
      }
      case 'visitor_arrived':
        this.visitors.set(Model.key(f.site, f.visitor.visitor), { ...f.visitor, site: f.site });
        return true;
      case 'visitor_page': {
        const visitor = this.visitors.get(Model.key(f.site, f.visitor));
        if (visitor) {
          visitor.page = f.page;
          visitor.keywords = f.keywords;
          visitor.pages += 1;
        }
        return true;
      }
      case 'visitor_identified': {
        const visitor = this.visitors.get(Model.key(f.site, f.visitor));
        if (visitor) visitor.identity = f.identity;
        return true;
      }
      case 'visitor_left':
        this.visitors.delete(Model.key(f.site, f.visitor));
        return true;
      case 'agent_status': {
        const agents = this.agents.get(f.site) || new Map();
        if (f.agent.status === 'offline') agents.delete(f.agent.agent);
        else agents.set(f.agent.agent, f.agent);
        this.agents.set(f.site, agents);
        return true;
      }
      case 'conversation': {
        const c = f.conversation;
        this.conversations.set(c.id, c);
        for (const visitor of this.visitors.values()) {
          if (visitor.site === c.site && visitor.visitor === c.visitor) visitor.conversation = c.id;
        }
        return true;
      }
      case 'message':
        this.#add(f);
        if (f.sender.party === 'visitor' && f.sender.id) this.previews.delete(Model.key(f.site, f.sender.id));
        return true;
      case 'typing': {
        if (f.from !== 'visitor') return false;
        const key = Model.key(f.site, f.visitor);
        if (f.active && f.preview) this.previews.set(key, { text: f.preview, until: Date.now() + PREVIEW_SHOWN_MS });
        else this.previews.delete(key);
        return true;
      }
      case 'read': {
        const c = this.conversations.get(f.conversation);
        if (!c) return false;
        if (f.by === 'visitor') c.visitor_read_seq = Math.max(c.visitor_read_seq, f.seq);
        else c.agent_read_seq = Math.max(c.agent_read_seq, f.seq);
        return true;
      }
      default:
        return false;
    }
  }

  /** @param {MessageView} m */
  #add(m) {
    let log = this.messages.get(m.conversation);
    if (!log) this.messages.set(m.conversation, (log = new Map()));
    log.set(m.seq, m);
    const c = this.conversations.get(m.conversation);
    if (c && m.seq > c.last_seq) c.last_seq = m.seq;
  }

  /**
   * Messages from the REST history.
   * @param {MessageView[]} items
   */
  history(items) {
    for (const m of items) this.#add(m);
  }

  /** @param {string} conversation @returns {MessageView[]} in `seq` order */
  log(conversation) {
    return [...(this.messages.get(conversation)?.values() || [])].sort((a, b) => a.seq - b.seq);
  }

  /** The visitor's draft, while it is fresh. @param {string} site @param {string} visitor */
  preview(site, visitor) {
    const p = this.previews.get(Model.key(site, visitor));
    return p && p.until > Date.now() ? p.text : '';
  }

  /** @param {ConversationView} c */
  visitorOf(c) {
    return this.visitors.get(Model.key(c.site, c.visitor));
  }

  /** An agent's name on any site. @param {string} id */
  agentName(id) {
    for (const agents of this.agents.values()) {
      const agent = agents.get(id);
      if (agent) return agent.name;
    }
    return '';
  }

  /** Conversations the list shows, newest first. @param {'waiting' | 'mine' | 'all'} which */
  list(which) {
    const me = this.me?.id;
    return [...this.conversations.values()]
      .filter((c) =>
        which === 'waiting'
          ? c.status === 'waiting'
          : which === 'mine'
            ? c.status === 'open' && c.agent === me
            : c.status !== 'closed' || Date.now() - c.started_at < 3_600_000,
      )
      .sort((a, b) => b.started_at - a.started_at);
  }

  /**
   * How many of the visitor's messages no agent has read: counted in the log where it holds every
   * message past the read mark, the distance to it otherwise (the log of a conversation never
   * opened here is not loaded).
   * @param {ConversationView} c
   */
  unread(c) {
    if (c.status === 'closed' || c.last_seq <= c.agent_read_seq) return 0;
    const log = this.messages.get(c.id);
    let count = 0;
    for (let seq = c.agent_read_seq + 1; seq <= c.last_seq; seq++) {
      const m = log?.get(seq);
      if (!m) return c.last_seq - c.agent_read_seq;
      if (m.sender.party === 'visitor') count += 1;
    }
    return count;
  }
}
