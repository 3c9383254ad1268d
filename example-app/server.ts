/**
 * `npm start`: the Express example app against an Argus emulator started in this process,
 * or against a real Argus when ARGUS_CLIENT_ID, ARGUS_CLIENT_SECRET and
 * ARGUS_CALLBACK_URL are set (see serve.ts).
 */
import { createExampleApp } from './app.ts';
import { run, serveExample } from './serve.ts';

run(() => serveExample({ defaultPort: 3000, handler: (options) => createExampleApp(options).app }));
