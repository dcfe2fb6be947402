import net from 'node:net';

/**
 * Ports are picked below Linux's ephemeral range (32768–60999): a port the kernel hands to some outgoing connection
 * (a database client, a gRPC channel) can then never take a port a test chose for a server it starts later, the race
 * behind an occasional "address already in use" when a child process started its Temporal dev server. Each port is
 * handed out once per test process.
 */
const LOW = 20_000;
const HIGH = 32_767;
const handedOut = new Set<number>();

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port that was free a moment ago on 127.0.0.1, and that no other caller in this process has been given. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
    if (handedOut.has(port)) continue;
    if (await isFree(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found between ${LOW} and ${HIGH} after 200 tries`);
}
