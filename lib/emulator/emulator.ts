import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmulatorContext } from './context.ts';
import { control } from './control.ts';
import { allowedHosts, type ControlPolicy } from './control-guard.ts';
import { FailurePlans, runPlan } from './failures.ts';
import { GrantEventLog } from './grant-events.ts';
import { sendEnvelopeError } from './http-util.ts';
import { validatePlan } from './plan-validation.ts';
import { applySettings, type ResolvedOptions, type Settings } from './options.ts';
import { recordOf, RequestLog } from './recording.ts';
import { dispatch, endpointOf, isControlPath, readExchange } from './server.ts';
import { Clock, EmulatorState } from './state.ts';
import { Timers } from './timers.ts';
import type {
  ArgusEmulator,
  ConfigurableOptions,
  EmulatorClient,
  EmulatorUser,
  EndpointName,
  FailurePlan,
  GrantEvent,
  RecordedRequest,
} from './types.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** The origin clients should use; a wildcard address is reached through loopback. */
function originOf(host: string, port: number): string {
  if (host === '0.0.0.0') return `http://127.0.0.1:${port}`;
  if (host === '::') return `http://[::1]:${port}`;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** A running emulator: one HTTP server serving portal, API and (if enabled) controls. */
export class RunningEmulator implements ArgusEmulator {
  readonly clock = new Clock();
  readonly clients: readonly EmulatorClient[];
  readonly users: readonly EmulatorUser[];
  #url = '';
  readonly #options: ResolvedOptions;
  #settings: Settings;
  readonly #state: EmulatorState;
  readonly #context: EmulatorContext;
  readonly #failures = new FailurePlans();
  readonly #timers = new Timers();
  readonly #grantEvents = new GrantEventLog();
  readonly #requests: RequestLog;
  readonly #server: Server;
  readonly #controlPolicy: ControlPolicy;

  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.#settings = options.settings;
    this.#requests = new RequestLog(options.maxRecordedRequests, options.maxRecordedBytes);
    this.clients = options.clients;
    this.users = options.users;
    this.#state = new EmulatorState(
      this.clock,
      () => this.#settings,
      options.users,
      this.#grantEvents,
    );
    this.#context = {
      state: this.#state,
      clock: this.clock,
      clients: new Map(options.clients.map((client) => [client.clientID, client])),
      users: options.users,
      settings: () => this.#settings,
    };
    this.#controlPolicy = Object.freeze({
      hosts: allowedHosts(options.host, options.controlHosts),
      token: options.controlToken,
    });
    this.#server = createServer((req, res) => {
      this.#onRequest(req, res).catch(() => this.#internalError(res));
    });
  }

  get url(): string {
    return this.#url;
  }

  get portalURL(): string {
    return this.#url;
  }

  get apiURL(): string {
    return this.#url;
  }

  get requests(): readonly RecordedRequest[] {
    return this.#requests.list();
  }

  /** Starts listening; resolves once the port is known. */
  async listen(): Promise<void> {
    const { port, host, quiet } = this.#options;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address() as AddressInfo;
    this.#url = originOf(host, address.port);
    if (!quiet && !LOOPBACK.has(host)) {
      process.emitWarning(
        `The Argus emulator listens on ${host}: it accepts its demo passwords from anyone who can reach it.`,
      );
    }
  }

  requestsTo(endpoint: EndpointName): RecordedRequest[] {
    return this.#requests.list().filter((request) => request.endpoint === endpoint);
  }

  failNext(endpoint: EndpointName, plan: FailurePlan): void {
    this.#failures.add(endpoint, validatePlan(endpoint, plan), this.clock.now());
  }

  logoutUser(userName: string): void {
    if (this.#state.user(userName) === undefined) {
      throw new TypeError(`Argus emulator: logoutUser: there is no user '${userName}'`);
    }
    this.#state.logoutUser(userName);
  }

  configure(options: ConfigurableOptions): void {
    this.#settings = applySettings(this.#settings, options);
  }

  clearRequests(): void {
    this.#requests.clear();
  }

  reset(): void {
    this.#state.reset();
    this.#requests.clear();
    this.#failures.clear();
    this.#grantEvents.clear();
    this.clock.reset();
    this.#settings = this.#options.settings;
  }

  activeGrants(userName?: string): number {
    return this.#state.activeGrants(userName);
  }

  grantEvents(): readonly GrantEvent[] {
    return this.#grantEvents.list();
  }

  async close(): Promise<void> {
    this.#timers.clear();
    await new Promise<void>((resolve) => {
      // Hanging and keep-alive connections would hold close() open: end them now.
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ex = await readExchange(req, res);
    if (isControlPath(ex.path)) {
      // Control requests are never recorded, so they do not disturb what a test asserts.
      if (this.#options.controlAPI) return control(this, ex, this.#controlPolicy);
      return sendEnvelopeError(res, 404, 'Not found', this.clock.now());
    }
    const endpoint = endpointOf(ex.method, ex.path);
    this.#requests.add(recordOf(ex, endpoint, this.clock.now()));
    const normal = () => {
      try {
        dispatch(this.#context, ex);
      } catch {
        this.#internalError(res);
      }
    };
    const plan = endpoint === 'other' ? undefined : this.#failures.take(endpoint, this.clock.now());
    if (plan === undefined) return normal();
    runPlan(plan, ex, this.#timers, () => this.clock.now(), normal);
  }

  /** A bug must not take the emulator down: answer 500 and go on. */
  #internalError(res: ServerResponse): void {
    sendEnvelopeError(res, 500, 'Internal error in the Argus emulator', this.clock.now());
  }
}
