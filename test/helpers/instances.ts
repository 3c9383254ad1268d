/**
 * App instances sharing one real redis-server: each with its own Redis clients, a
 * connect-redis session store and a RedisRefreshCoordinator, all on one emulator. Used by
 * the multi-instance test files, each of which starts its own redis-server.
 */
import { RedisStore } from 'connect-redis';
import { type RefreshCoordinator, RedisRefreshCoordinator } from 'passport-argus';
import { createClient, type RedisClientType } from 'redis';
import { startTestApp, type TestApp, type TestAppOptions } from './app.ts';
import type { RedisServer } from './redis-server.ts';

/** One redis-server's clients and instances, closed together. */
export function instancesOn(redisServer: RedisServer | undefined) {
  // disableOfflineQueue: while Redis is down, commands fail at once instead of hanging.
  const makeClient = () =>
    createClient({
      url: redisServer?.url,
      disableOfflineQueue: true,
      socket: { reconnectStrategy: () => 50 },
    });
  type Client = ReturnType<typeof makeClient>;
  const clients: Client[] = [];
  const apps: TestApp[] = [];

  async function redisClient(): Promise<Client> {
    const client = makeClient();
    client.on('error', () => undefined);
    await client.connect();
    clients.push(client);
    return client;
  }

  /** connect-redis types its client as redis's widest client type; createClient's is narrower. */
  const storeOn = (client: Client) =>
    new RedisStore({ client: client as unknown as RedisClientType });

  /**
   * An instance with the Redis store and coordinator; `wrap` may put a fault or a probe
   * around the coordinator.
   */
  async function instance(
    options: TestAppOptions,
    wrap: (coordinator: RefreshCoordinator) => RefreshCoordinator = (c) => c,
  ): Promise<TestApp> {
    const app = await startTestApp({
      store: storeOn(await redisClient()),
      ...options,
      strategy: {
        coordinator: wrap(new RedisRefreshCoordinator(await redisClient())),
        ...options.strategy,
      },
    });
    apps.push(app);
    return app;
  }

  /** Two instances sharing one Redis store, one coordinator config and one emulator. */
  async function twoInstances(emulator: TestAppOptions['emulator'] = {}) {
    const a = await instance({ emulator });
    const b = await instance({ sharedEmulator: a.emulator });
    return { a, b };
  }

  async function close(): Promise<void> {
    for (const app of apps.splice(0).reverse()) await app.close();
    for (const client of clients.splice(0)) await client.quit().catch(() => client.destroy());
  }

  return { clients, redisClient, storeOn, instance, twoInstances, close };
}
