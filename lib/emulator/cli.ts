#!/usr/bin/env node
/**
 * `argus-emulator`: runs the Argus emulator from a shell, for demos and browser tests.
 */
import { parseArgs } from 'node:util';
import {
  type ArgusEmulatorOptions,
  DEMO_CLIENT,
  type EmulatorUser,
  startArgusEmulator,
} from './index.ts';

const HELP = `Usage: argus-emulator [options]

Runs a local Argus (portal and API on one origin) for development and tests.

Options:
  --port N                   port to listen on (default: a free port)
  --host H                   interface to listen on (default: 127.0.0.1)
  --client-id ID             register this client instead of the demo client
  --client-secret S          its secret (required with --client-id)
  --redirect-uri URI         a redirect URI of the client; repeat for several (required with
                             --client-id; without it, added to the demo client's)
  --user NAME:PASSWORD[:DISPLAY NAME]
                             a user who can log in, instead of the demo users; repeat for several
  --token-lifetime MS        access token lifetime in milliseconds (default: 300000)
  --rotate-refresh-tokens    give a new refresh token on every refresh
  --control-api              serve the test controls under /__emulator/ (loopback Host only,
                             JSON bodies only)
  --control-host H           also answer the controls for Host H (any port); repeat for several
  --control-token T          require Authorization: Bearer T on every control request
  -h, --help                 show this help

Environment (read with --control-api; a flag wins):
  ARGUS_EMULATOR_CONTROL_TOKEN   as --control-token, kept out of the process list
  ARGUS_EMULATOR_CONTROL_HOSTS   as --control-host, comma-separated
`;

/** Thrown for a bad command line; printed without a stack trace. */
class UsageError extends Error {}

function integer(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) {
    throw new UsageError(`--${name} must be a whole number of at least ${min}`);
  }
  return Number(value);
}

/** The control API options from the flags, then the environment; a flag wins. */
function controlOptions(values: {
  'control-api'?: boolean;
  'control-host'?: string[];
  'control-token'?: string;
}): ArgusEmulatorOptions {
  if (!values['control-api']) {
    if (values['control-host'] !== undefined || values['control-token'] !== undefined) {
      throw new UsageError('--control-host and --control-token need --control-api');
    }
    // The environment may be set for other runs: without --control-api it means nothing.
    return {};
  }
  const options: ArgusEmulatorOptions = { controlAPI: true };
  const envHosts = process.env.ARGUS_EMULATOR_CONTROL_HOSTS?.split(',')
    .map((host) => host.trim())
    .filter((host) => host !== '');
  const hosts = values['control-host'] ?? envHosts;
  if (hosts !== undefined && hosts.length > 0) options.controlHosts = hosts;
  const token = values['control-token'] ?? process.env.ARGUS_EMULATOR_CONTROL_TOKEN;
  if (token !== undefined && token !== '') options.controlToken = token;
  return options;
}

function optionsFrom(argv: string[]): ArgusEmulatorOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      user: { type: 'string', multiple: true },
      'token-lifetime': { type: 'string' },
      'rotate-refresh-tokens': { type: 'boolean' },
      'control-api': { type: 'boolean' },
      'control-host': { type: 'string', multiple: true },
      'control-token': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const options: ArgusEmulatorOptions = {};
  const port = integer(values.port, 'port', 0);
  if (port !== undefined) options.port = port;
  if (values.host !== undefined) options.host = values.host;
  const tokenLifetime = integer(values['token-lifetime'], 'token-lifetime', 1);
  if (tokenLifetime !== undefined) options.tokenLifetime = tokenLifetime;
  if (values['rotate-refresh-tokens']) options.rotateRefreshTokens = true;
  Object.assign(options, controlOptions(values));
  const clientID = values['client-id'];
  const clientSecret = values['client-secret'];
  const redirectUris = values['redirect-uri'] ?? [];
  if (clientID !== undefined || clientSecret !== undefined) {
    if (clientID === undefined || clientSecret === undefined || redirectUris.length === 0) {
      throw new UsageError(
        '--client-id, --client-secret and at least one --redirect-uri go together',
      );
    }
    options.clients = [{ clientID, clientSecret, redirectUris }];
  } else if (redirectUris.length > 0) {
    // Your app's callback on the demo client: its id and secret stay the printed ones.
    options.clients = [
      { ...DEMO_CLIENT, redirectUris: [...DEMO_CLIENT.redirectUris, ...redirectUris] },
    ];
  }
  if (values.user !== undefined) options.users = values.user.map(userFrom);
  return options;
}

/** `NAME:PASSWORD[:DISPLAY NAME]` as an emulator user. */
function userFrom(value: string): EmulatorUser {
  const [userName = '', password = '', ...rest] = value.split(':');
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(userName) || password === '') {
    throw new UsageError(
      '--user must be NAME:PASSWORD[:DISPLAY NAME], the name letters, digits and . _ @ -',
    );
  }
  return { userName, password, name: rest.join(':') || userName };
}

async function main(): Promise<void> {
  let options: ArgusEmulatorOptions | 'help';
  try {
    options = optionsFrom(process.argv.slice(2));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`argus-emulator: ${message}\n\n${HELP}`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const emulator = await startArgusEmulator(options);
  const lines = [`Argus emulator listening on ${emulator.url}`, ''];
  for (const client of emulator.clients) {
    const demo = client.clientID === DEMO_CLIENT.clientID;
    lines.push(
      `Client ${client.clientID}`,
      // A secret given on the command line is the caller's own: do not echo it into logs.
      `  secret:        ${demo ? client.clientSecret : '(as given with --client-secret)'}`,
      `  redirect URIs: ${client.redirectUris.join(' ')}`,
      '',
    );
  }
  lines.push('Users (user name / password):');
  // Passwords given with --user are the caller's own, like a client secret: not echoed.
  const given = options.users !== undefined;
  for (const user of emulator.users)
    lines.push(`  ${user.userName} / ${given ? '(as given)' : user.password}  (${user.name})`);
  if (options.controlAPI) {
    // The token is the caller's own secret: say that one is needed, never what it is.
    const token = options.controlToken === undefined ? '' : ' (with the control token)';
    lines.push('', `Test controls under ${emulator.url}/__emulator/${token}`);
  }
  lines.push('', 'Press Ctrl+C to stop.');
  process.stdout.write(`${lines.join('\n')}\n`);

  const stop = () => {
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`argus-emulator: ${message}\n`);
  process.exitCode = 1;
});
