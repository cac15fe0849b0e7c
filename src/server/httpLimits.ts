import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** Connection limits of an HTTP server that faces the internet. */
export interface HttpLimits {
  /** Open connections in all; more are closed as they arrive. */
  maxConnections: number;
  /** Open connections from one client address; more are closed as they arrive. */
  maxConnectionsPerAddress: number;
  /** A connection that sends nothing (and has no response pending) for this long is closed, in ms. */
  idleTimeoutMs: number;
}

/**
 * Bounds what idle or slow clients can hold. Node's own defaults keep a connection that never
 * sends a byte open for good (`server.timeout` is 0): 1,100 silent connections once made every
 * new connection fail at the usual limit of 1,024 open files. Here:
 * - a socket idle for `idleTimeoutMs` is destroyed (`server.timeout`);
 * - request headers must arrive within `min(10 s, idle)` and a whole request within 30 s;
 * - at most `maxConnections` sockets (`server.maxConnections`, Node closes the extra ones) and
 *   `maxConnectionsPerAddress` per client address (counted in memory, never logged).
 * Used by the standalone aggregation server and by the demo shop's server.
 */
export function applyHttpLimits(server: Server, limits: HttpLimits): void {
  server.timeout = limits.idleTimeoutMs;
  server.keepAliveTimeout = Math.min(5_000, limits.idleTimeoutMs);
  server.headersTimeout = Math.min(10_000, limits.idleTimeoutMs);
  server.requestTimeout = 30_000;
  server.maxConnections = limits.maxConnections;
  const perAddress = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const open = (perAddress.get(address) ?? 0) + 1;
    if (open > limits.maxConnectionsPerAddress) {
      socket.destroy();
      return;
    }
    perAddress.set(address, open);
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
  });
}
