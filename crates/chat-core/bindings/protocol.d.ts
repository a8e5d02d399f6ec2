// Protocol v1 frames, generated from crates/chat-core/src/protocol by `cargo test -p chat-core
// --features ts --test typescript` (KEFU_WRITE_TYPES=1 rewrites this file). Do not edit.
// Integers are JSON numbers: every one the protocol carries (times, seqs, sizes) stays below 2^53.

export type TenantId = string;

export type SiteId = string;

export type AgentId = string;

export type VisitorId = string;

export type ConversationId = string;

export type Cid = string;

export type Millis = number;

export type PageInfo = { 
/**
 * The page's address.
 */
url: string, 
/**
 * The page's title.
 */
title: string, 
/**
 * Where the visitor came from (`document.referrer`), empty if nowhere.
 */
referrer: string, };

export type DeviceInfo = { 
/**
 * The browser's preferred language (`navigator.language`), e.g. `zh-CN`.
 */
language: string, 
/**
 * Screen size in CSS pixels, `WIDTHxHEIGHT`.
 */
screen: string, 
/**
 * The browser's user agent; the server fills it from the socket's request, not from the hello.
 */
user_agent: string, };

export type VisitorIdentity = { 
/**
 * The visitor's id in the site's own user records.
 */
id: string, 
/**
 * Their name.
 */
name: string, 
/**
 * Their email address.
 */
email: string, 
/**
 * Hex of HMAC-SHA256 of `id`, keyed with the site's identity secret; empty if the site has none.
 */
hash: string, };

export type IdentityView = { 
/**
 * The visitor's id in the site's own user records.
 */
id: string, 
/**
 * Their name.
 */
name: string, 
/**
 * Their email address.
 */
email: string, 
/**
 * The hash proved that the site vouches for this identity; otherwise anyone could have typed it.
 */
verified: boolean, };

export type AttachmentView = { 
/**
 * The file's id (unguessable).
 */
id: string, 
/**
 * The name it was uploaded with.
 */
name: string, 
/**
 * Its size in bytes.
 */
size: number, 
/**
 * Its media type, found from its content (never from its name).
 */
type: string, 
/**
 * For images: width in pixels.
 */
width?: number | null, 
/**
 * For images: height in pixels.
 */
height?: number | null, };

export type WidgetPosition = "right" | "left";

export type WidgetView = { 
/**
 * The launcher's and the header's colour, `#rrggbb`.
 */
color: string, 
/**
 * The corner of the launcher.
 */
position: WidgetPosition, 
/**
 * Offer the leave-a-message form when nobody is online.
 */
offline_form: boolean, 
/**
 * Languages the widget may speak, most preferred first (`zh-CN`, `en`).
 */
languages: Array<string>, };

export type ResumePoint = { 
/**
 * The conversation.
 */
conversation: ConversationId, 
/**
 * The highest `seq` the client has; 0 for none.
 */
last_seq: number, };

export type Role = "owner" | "admin" | "agent";

export type AgentStatus = "online" | "away" | "offline";

export type ConversationStatus = "waiting" | "open" | "closed";

export type Party = "visitor" | "agent" | "system";

export type MessageKind = "text" | "note" | "event";

export type Sender = { 
/**
 * Visitor, agent or system.
 */
party: Party, 
/**
 * The visitor's or agent's id; none for system messages.
 */
id?: string | null, 
/**
 * The agent's display name; none for visitors and system messages.
 */
name?: string | null, };

export type ConversationEvent = { "event": "assigned", 
/**
 * The agent.
 */
agent: AgentId, 
/**
 * Their display name.
 */
name: string, } | { "event": "transferred", 
/**
 * Who had it, if anyone.
 */
from: AgentId | null, 
/**
 * Who has it now.
 */
to: AgentId, 
/**
 * The new agent's display name.
 */
name: string, } | { "event": "invited", 
/**
 * The agent.
 */
agent: AgentId, 
/**
 * Their display name.
 */
name: string, } | { "event": "requeued", 
/**
 * The agent who left.
 */
agent: AgentId, } | { "event": "closed", 
/**
 * Who ended it; `system` when it closed after inactivity.
 */
by: Party, } | { "event": "rated", 
/**
 * 1 (bad) to 5 (excellent).
 */
score: number, };

export type MessageView = { 
/**
 * The site of the conversation.
 */
site: SiteId, 
/**
 * The conversation.
 */
conversation: ConversationId, 
/**
 * Its position in the conversation.
 */
seq: number, 
/**
 * Who wrote it.
 */
sender: Sender, 
/**
 * Text, note or event.
 */
kind: MessageKind, 
/**
 * The text; for events, a sentence describing it.
 */
body: string, 
/**
 * The sender's client id; none for system messages.
 */
cid?: Cid | null, 
/**
 * When the server accepted it.
 */
at: Millis, 
/**
 * The lifecycle event, for messages of kind `event`.
 */
event?: ConversationEvent | null, 
/**
 * A file sent with the message (the body is then its caption, possibly empty).
 */
attachment?: AttachmentView | null, };

export type ConversationView = { 
/**
 * Its id.
 */
id: ConversationId, 
/**
 * Its site.
 */
site: SiteId, 
/**
 * Its visitor.
 */
visitor: VisitorId, 
/**
 * Waiting, open or closed.
 */
status: ConversationStatus, 
/**
 * The agent who has it, if any.
 */
agent: AgentId | null, 
/**
 * When it started.
 */
started_at: Millis, 
/**
 * The highest stored `seq`.
 */
last_seq: number, 
/**
 * The visitor's rating, 1–5, once given.
 */
rating: number | null, 
/**
 * The highest `seq` the visitor has read.
 */
visitor_read_seq: number, 
/**
 * The highest `seq` an agent has read.
 */
agent_read_seq: number, };

export type LiveVisitorView = { 
/**
 * The visitor.
 */
visitor: VisitorId, 
/**
 * The page they are on.
 */
page: PageInfo, 
/**
 * Search keywords found in the referrer, if it was a search engine.
 */
keywords: string | null, 
/**
 * When they arrived on the site.
 */
arrived_at: Millis, 
/**
 * Their latest conversation, if any.
 */
conversation: ConversationId | null, 
/**
 * Pages they opened since they arrived.
 */
pages: number, 
/**
 * Their browser's language, screen and user agent.
 */
device: DeviceInfo, 
/**
 * Who the site says they are, if it said.
 */
identity: IdentityView | null, };

export type AgentPresenceView = { 
/**
 * The agent.
 */
agent: AgentId, 
/**
 * Their display name.
 */
name: string, 
/**
 * Online, away or offline.
 */
status: AgentStatus, 
/**
 * Open conversations they have in this site.
 */
open_conversations: number, 
/**
 * How many open conversations round-robin gives them at most.
 */
capacity: number, };

export type SiteSummary = { 
/**
 * The site.
 */
id: SiteId, 
/**
 * Its name.
 */
name: string, };

export type VisitorHello = { 
/**
 * Protocol version; must be [`super::PROTOCOL_VERSION`].
 */
v: number, 
/**
 * The site's public key from the snippet.
 */
site_key: string, 
/**
 * The token from an earlier `welcome`; none for a first visit.
 */
visitor_token: string | null, 
/**
 * The page the visitor is on.
 */
page: PageInfo, 
/**
 * The browser's language and screen (its user agent comes from the request).
 */
device: DeviceInfo, 
/**
 * Who the site says the visitor is, if the page called `Kefu('identify', …)` before connecting.
 */
identity: VisitorIdentity | null, 
/**
 * What the visitor already has; the server replays the rest.
 */
resume: Array<ResumePoint>, };

export type AgentHello = { 
/**
 * Protocol version; must be [`super::PROTOCOL_VERSION`].
 */
v: number, 
/**
 * An access token from `POST /api/v1/auth/login` or `/refresh`.
 */
access_token: string, 
/**
 * The status to take on joining.
 */
status: AgentStatus, 
/**
 * What the agent already has; the server replays the rest.
 */
resume: Array<ResumePoint>, };

export type VisitorFrame = { "type": "visitor_hello" } & VisitorHello | { "type": "send", 
/**
 * A new id per message, reused on retry.
 */
cid: Cid, 
/**
 * The text; may be empty when a file is attached.
 */
body: string, 
/**
 * A file: the `attachment_token` `POST /api/v1/files` answered.
 */
attachment?: string | null, } | { "type": "typing", 
/**
 * The current draft.
 */
text: string, } | { "type": "read", 
/**
 * The conversation.
 */
conversation: ConversationId, 
/**
 * The highest `seq` seen.
 */
seq: number, } | { "type": "page", 
/**
 * The new page.
 */
page: PageInfo, } | { "type": "rate", 
/**
 * The conversation.
 */
conversation: ConversationId, 
/**
 * 1 (bad) to 5 (excellent).
 */
score: number, 
/**
 * Optional words.
 */
comment: string, } | { "type": "close" } | { "type": "identify" } & VisitorIdentity | { "type": "ping", 
/**
 * Echoed back.
 */
t: number | null, };

export type AgentFrame = { "type": "agent_hello" } & AgentHello | { "type": "send", 
/**
 * The site.
 */
site: SiteId, 
/**
 * The conversation.
 */
conversation: ConversationId, 
/**
 * A new id per message, reused on retry.
 */
cid: Cid, 
/**
 * The text; may be empty when a file is attached.
 */
body: string, 
/**
 * An internal note, never shown to the visitor.
 */
note: boolean, 
/**
 * A file: the `attachment_token` `POST /api/v1/files` answered.
 */
attachment?: string | null, } | { "type": "typing", 
/**
 * The site.
 */
site: SiteId, 
/**
 * The conversation.
 */
conversation: ConversationId, 
/**
 * Typing now.
 */
active: boolean, } | { "type": "read", 
/**
 * The site.
 */
site: SiteId, 
/**
 * The conversation.
 */
conversation: ConversationId, 
/**
 * The highest `seq` seen.
 */
seq: number, } | { "type": "status", 
/**
 * The new status.
 */
status: AgentStatus, } | { "type": "accept", 
/**
 * The site.
 */
site: SiteId, 
/**
 * The conversation.
 */
conversation: ConversationId, } | { "type": "transfer", 
/**
 * The site.
 */
site: SiteId, 
/**
 * The conversation.
 */
conversation: ConversationId, 
/**
 * The agent to take it; they must be connected and not offline.
 */
to: AgentId, } | { "type": "close", 
/**
 * The site.
 */
site: SiteId, 
/**
 * The conversation.
 */
conversation: ConversationId, } | { "type": "refresh", 
/**
 * The new token.
 */
access_token: string, } | { "type": "invite", 
/**
 * The site.
 */
site: SiteId, 
/**
 * The visitor.
 */
visitor: VisitorId, 
/**
 * The first message's client id.
 */
cid: Cid, 
/**
 * The first message.
 */
body: string, } | { "type": "ping", 
/**
 * Echoed back.
 */
t: number | null, };

export type ErrorCode = "bad_frame" | "unknown_type" | "message_too_long" | "hello_required" | "unsupported_version" | "unauthorized" | "token_expired" | "forbidden" | "not_found" | "invalid_state" | "rate_limited" | "site_full" | "unavailable" | "internal";

export type ServerFrame = { "type": "welcome", 
/**
 * The visitor's id.
 */
visitor: VisitorId, 
/**
 * Keep it (localStorage) and send it in the next hello to stay the same visitor.
 */
visitor_token: string, 
/**
 * The site.
 */
site: SiteId, 
/**
 * The site's name.
 */
site_name: string, 
/**
 * The site's greeting, shown before the first message.
 */
greeting: string, 
/**
 * How the site's widget looks and behaves.
 */
widget: WidgetView, 
/**
 * Whether an agent is online to answer.
 */
agents_online: boolean, 
/**
 * The visitor's latest conversation, if any.
 */
conversation: ConversationView | null, } | { "type": "agent_welcome", 
/**
 * The tenant.
 */
tenant: TenantId, 
/**
 * The agent.
 */
agent: AgentId, 
/**
 * Their display name.
 */
name: string, 
/**
 * Their role.
 */
role: Role, 
/**
 * The sites they serve.
 */
sites: Array<SiteSummary>, } | { "type": "site_state", 
/**
 * The site.
 */
site: SiteId, 
/**
 * Agents connected to the site.
 */
agents: Array<AgentPresenceView>, 
/**
 * Visitors on the site, the latest arrivals first, at most
 * [`crate::limits::MAX_VISITORS_IN_SITE_STATE`].
 */
visitors: Array<LiveVisitorView>, 
/**
 * How many visitors are on the site.
 */
visitors_total: number, 
/**
 * Waiting, open and recently closed conversations.
 */
conversations: Array<ConversationView>, } | { "type": "ack", 
/**
 * The client id of the send.
 */
cid: Cid, 
/**
 * The conversation it went to.
 */
conversation: ConversationId, 
/**
 * Its place there.
 */
seq: number, } | { "type": "message" } & MessageView | { "type": "typing", 
/**
 * The site.
 */
site: SiteId, 
/**
 * The visitor of the conversation.
 */
visitor: VisitorId, 
/**
 * The conversation, if one exists yet.
 */
conversation: ConversationId | null, 
/**
 * Who is typing.
 */
from: Party, 
/**
 * The agent typing, when `from` is `agent`.
 */
agent?: AgentId | null, 
/**
 * Typing now, or stopped.
 */
active: boolean, 
/**
 * The visitor's current draft (to agents only).
 */
preview?: string | null, } | { "type": "read", 
/**
 * The site.
 */
site: SiteId, 
/**
 * The conversation.
 */
conversation: ConversationId, 
/**
 * Who read.
 */
by: Party, 
/**
 * Up to which `seq`.
 */
seq: number, } | { "type": "visitor_arrived", 
/**
 * The site.
 */
site: SiteId, 
/**
 * The visitor.
 */
visitor: LiveVisitorView, } | { "type": "visitor_page", 
/**
 * The site.
 */
site: SiteId, 
/**
 * The visitor.
 */
visitor: VisitorId, 
/**
 * The new page.
 */
page: PageInfo, 
/**
 * Search keywords from the referrer, if any.
 */
keywords: string | null, } | { "type": "visitor_identified", 
/**
 * The site.
 */
site: SiteId, 
/**
 * The visitor.
 */
visitor: VisitorId, 
/**
 * Who the site says they are.
 */
identity: IdentityView, } | { "type": "visitor_left", 
/**
 * The site.
 */
site: SiteId, 
/**
 * The visitor.
 */
visitor: VisitorId, } | { "type": "agent_status", 
/**
 * The site.
 */
site: SiteId, 
/**
 * The agent now.
 */
agent: AgentPresenceView, } | { "type": "agents_online", 
/**
 * At least one agent is online.
 */
online: boolean, } | { "type": "conversation", 
/**
 * The conversation now.
 */
conversation: ConversationView, } | { "type": "invited", 
/**
 * The new conversation.
 */
conversation: ConversationId, 
/**
 * The agent.
 */
agent: AgentId, 
/**
 * Their display name.
 */
name: string, } | { "type": "error", 
/**
 * What kind of refusal; see [`ErrorCode`].
 */
code: ErrorCode, 
/**
 * What to fix, in words.
 */
message: string, 
/**
 * The client id of the refused send, if it was one.
 */
cid?: Cid | null, } | { "type": "refreshed", 
/**
 * When the new token expires.
 */
expires_at: Millis, } | { "type": "pong", 
/**
 * The `t` of the ping.
 */
t: number | null, } | { "type": "reconnect", 
/**
 * Suggested wait before reconnecting, in milliseconds.
 */
after_ms: number, 
/**
 * Where to reconnect, when it is another node of a cluster than the one the socket
 * reached (the site's room is hosted there); absent: the same address.
 */
url?: string | null, };
