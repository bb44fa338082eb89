/**
 * The pure PostgreSQL v3 wire-protocol codec: no sockets, timers or config.
 * Decoders are named decode*; encoders are named after the message they build.
 */
export * from './codes.js';
export { ProtocolError } from './errors.js';
export { decodeEmpty } from './reader.js';
export * from './startup.js';
export * from './framer.js';
export * from './scanner.js';
export * from './frontend/decode.js';
export * from './frontend/encode.js';
export * from './backend/decode.js';
export * from './backend/encode.js';
