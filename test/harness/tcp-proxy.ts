import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** The proxy's port on 127.0.0.1. */
  port: number;
  /** Stops forwarding in both directions without closing anything: a network partition or a stalled link. */
  pause(): void;
  /** Forwards again, including what queued up meanwhile. */
  resume(): void;
  close(): Promise<void>;
}

/** A TCP forwarder to `127.0.0.1:targetPort` that a test can stall (pause) without the peers noticing a close. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  const held: { to: Socket; data: Buffer }[] = [];
  let paused = false;
  const forward = (from: Socket, to: Socket): void => {
    from.on('data', (data: Buffer) => (paused ? held.push({ to, data }) : to.write(data)));
  };
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    forward(client, upstream);
    forward(upstream, client);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    pause: () => void (paused = true),
    resume: () => {
      paused = false;
      for (const { to, data } of held.splice(0)) if (!to.destroyed) to.write(data);
    },
    close: async () => {
      for (const [a, b] of pairs) a.destroy(), b.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
