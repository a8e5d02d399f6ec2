// Kefu's benchmark scenario on Socket.IO: each of Kefu's frames travels as the event `frame`
// (`42["frame",{…}]` on the wire; see relay.mjs). WebSocket transport only, as
// `kefu-bench --socketio` connects.
import { Server } from 'socket.io';
import { Room, httpServer, port } from './relay.mjs';

const room = new Room();
const server = httpServer();
// Socket.IO's own heartbeat every 25 s, as Kefu's clients ping.
const io = new Server(server, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
io.on('connection', (socket) => {
  const conn = { send: (frame) => socket.emit('frame', frame) };
  socket.on('frame', (frame) => room.receive(conn, frame));
  socket.on('disconnect', () => room.closed(conn));
});
server.listen(port(), '127.0.0.1');
