import net from 'node:net';

/**
 * A port free right now. `range` picks below Linux's ephemeral range (32768+), where servers that bind
 * port 0 in the meantime will not land on it.
 */
export async function freePort(range?: { from: number; to: number }): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = range ? range.from + Math.floor(Math.random() * (range.to - range.from)) : 0;
    const server = net.createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(candidate, '127.0.0.1', () => resolve(true));
    });
    if (!bound) continue;
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }
  throw new Error('no free port found');
}
