export * from './broker.js';
export * from './event-stream.js';
export * from './fixtures.js';
export * from './node-process.js';
export * from './processes.js';
export * from './purchase-messages.js';
export * from './raw-http.js';
export * from './tcp-proxy.js';
