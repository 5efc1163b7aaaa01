import { createConnection } from 'node:net';
import { startPrivateServer, type PrivateServer } from './private-server.ts';

/** A private redis-server (no persistence); see PrivateServer. */
export type PrivateRedis = PrivateServer;

/** Sends PING over a raw socket; true on +PONG. */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'));
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
    socket.once('error', () => done(false));
  });
}

/** Starts a throwaway redis-server (no persistence) in a temp dir on a free port. Killed on process exit. */
export function startPrivateRedis(options: { startDeadlineMs?: number } = {}): Promise<PrivateRedis> {
  return startPrivateServer({
    binary: 'redis-server',
    dirPrefix: 'bflow-redis-',
    installHint: 'install Redis (apt-get install redis-server)',
    url: (port) => `redis://127.0.0.1:${port}`,
    args: (dir, port) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    answers: (url) => pings(Number(new URL(url).port)),
    ...options,
  });
}
