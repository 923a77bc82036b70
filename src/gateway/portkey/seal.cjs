// crossfire's seal for a Node.js gateway, loaded with `node --require`.
//
// 1. Every server listens on 127.0.0.1 only, whatever host the gateway asks
//    for (the Portkey gateway listens on all interfaces and has no option
//    to change that).
// 2. Every outbound TCP connection to a host other than loopback is refused
//    before it is made, and recorded as one JSON line in the file named by
//    CROSSFIRE_ESCAPES. Node's fetch ignores HTTP(S)_PROXY, so a proxy cannot
//    seal it; this can.
'use strict';
const net = require('net');
const fs = require('fs');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '::ffff:127.0.0.1']);
const escapes = process.env.CROSSFIRE_ESCAPES;

function isLoopback(host) {
  return host === undefined || host === null || host === '' || LOOPBACK.has(host) || /^127\./.test(host);
}

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args.length === 0 || args[0] === undefined || args[0] === null || typeof args[0] === 'function') {
    // listen(), listen(cb), listen(undefined, host?, cb): a random port.
    const rest = typeof args[0] === 'function' ? args : args.slice(1);
    if (typeof rest[0] === 'string') {
      rest.shift();
    }
    args = [0, '127.0.0.1', ...rest];
  } else if (args.length > 0 && typeof args[0] === 'object' && args[0] !== null && !Array.isArray(args[0])) {
    if (args[0].path === undefined) {
      args[0] = Object.assign({}, args[0], { host: '127.0.0.1' });
    }
  } else if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    if (typeof args[1] === 'string') {
      args[1] = '127.0.0.1';
    } else {
      args.splice(1, 0, '127.0.0.1');
    }
  }
  return listen.apply(this, args);
};

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  let options = args[0];
  let host;
  let port;
  if (Array.isArray(options)) {
    options = options[0];
  }
  if (typeof options === 'object' && options !== null) {
    if (options.path !== undefined) {
      return connect.apply(this, args);
    }
    host = options.host;
    port = options.port;
  } else if (typeof options === 'number' || typeof options === 'string') {
    port = options;
    host = typeof args[1] === 'string' ? args[1] : undefined;
  }
  if (isLoopback(host)) {
    return connect.apply(this, args);
  }
  const target = `${host}:${port}`;
  if (escapes) {
    try {
      fs.appendFileSync(escapes, JSON.stringify({ method: 'CONNECT', target }) + '\n');
    } catch (_) {
      // Recording must never break the gateway.
    }
  }
  const socket = this;
  process.nextTick(() => socket.destroy(new Error(`crossfire sealed this gateway: no connection to ${target}`)));
  return socket;
};
