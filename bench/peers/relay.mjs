// The benchmark's peers: a relay that speaks enough of Kefu's protocol (docs/protocol.md) for
// `kefu-bench` to drive it as it drives `kefu serve` — hello and welcome, `send` answered by an
// `ack` to the sender and a `message` to every agent, `ping` and `pong` — and stores nothing.
// `ws-relay.mjs` and `socketio-relay.mjs` put it behind a WebSocket server of each kind.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const SITE = 's_' + '0'.repeat(32);

/** @returns {string} an id of Kefu's shape */
function id(prefix) {
  return prefix + randomBytes(16).toString('hex');
}

/**
 * The relay's one room. A connection is `{send(frame)}` plus what the room keeps on it; frames are
 * objects, each server turns them into text its own way.
 */
export class Room {
  agents = new Set();

  /** A frame from `conn`. */
  receive(conn, frame) {
    switch (frame?.type) {
      case 'visitor_hello':
        conn.visitor = id('v_');
        conn.conversation = id('c_');
        conn.seq = 0;
        return conn.send({
          type: 'welcome', visitor: conn.visitor, visitor_token: 'relay', site: SITE, site_name: 'Relay',
          greeting: '', widget: { color: '#1f6feb', position: 'right', offline_form: false, languages: [] },
          agents_online: this.agents.size > 0, conversation: null,
        });
      case 'agent_hello':
        this.agents.add(conn);
        return conn.send({ type: 'agent_welcome', agent: id('a_'), name: 'Agent', role: 'agent', sites: [SITE] });
      case 'send': {
        if (!conn.visitor) return;
        conn.seq += 1;
        conn.send({ type: 'ack', cid: frame.cid, conversation: conn.conversation, seq: conn.seq });
        const message = {
          type: 'message', site: SITE, conversation: conn.conversation, seq: conn.seq,
          sender: { party: 'visitor', id: conn.visitor }, kind: 'text', body: frame.body, cid: frame.cid, at: Date.now(),
        };
        for (const agent of this.agents) agent.send(message);
        return;
      }
      case 'ping':
        return conn.send({ type: 'pong', t: frame.t });
      default:
        return conn.send({ type: 'error', code: 'bad_frame', message: 'unknown frame' });
    }
  }

  closed(conn) {
    this.agents.delete(conn);
  }
}

/** The HTTP side `kefu-bench` and `scripts/bench` use: a health check and a login. */
export function httpServer() {
  return createServer((request, response) => {
    if (request.url === '/healthz') return response.end('ok');
    if (request.method === 'POST' && request.url === '/api/v1/auth/login') {
      response.setHeader('content-type', 'application/json');
      return response.end('{"tokens":{"access_token":"relay"}}');
    }
    response.statusCode = 404;
    response.end();
  });
}

/** The port from the command line. */
export function port() {
  const port = Number(process.argv[2]);
  if (!port) throw new Error('usage: node RELAY.mjs PORT');
  return port;
}
