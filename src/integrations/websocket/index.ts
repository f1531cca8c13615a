export { serveWebSocket } from './serveWebSocket.js';
export type { WebSocketSink } from './WebSocketSink.js';
export type { DisconnectReason, WebSocketSinkEvent } from './WebSocketSinkEvent.js';
export type {
  SlowClientPolicy,
  StreamFactory,
  WebSocketSinkOptions,
} from './WebSocketSinkOptions.js';
