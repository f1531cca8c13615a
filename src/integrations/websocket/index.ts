export { serveWebSocket } from './serveWebSocket.js';
export type { WebSocketSink } from './WebSocketSink.js';
export type { WebSocketClientSnapshot } from './WebSocketClientSnapshot.js';
export type { DisconnectReason, WebSocketSinkEvent } from './WebSocketSinkEvent.js';
export type {
  SlowClientPolicy,
  StreamFactory,
  WebSocketSinkOptions,
} from './WebSocketSinkOptions.js';
