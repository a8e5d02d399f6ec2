// Kefu's benchmark scenario on a plain `ws` WebSocket server (see relay.mjs).
import { WebSocketServer } from 'ws';
import { Room, httpServer, port } from './relay.mjs';

const room = new Room();
const server = httpServer();
const sockets = new WebSocketServer({ server, perMessageDeflate: false });
sockets.on('connection', (socket) => {
  // Each agent's copy of a message is its own JSON.stringify, as a server that writes per socket does.
  const conn = { send: (frame) => socket.send(JSON.stringify(frame)) };
  socket.on('message', (data) => {
    let frame;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      return socket.send('{"type":"error","code":"bad_frame","message":"not JSON"}');
    }
    room.receive(conn, frame);
  });
  socket.on('close', () => room.closed(conn));
  socket.on('error', () => {});
});
server.listen(port(), '127.0.0.1');
