/**
 * `npm run start:koa`: the Koa example app, started as `npm start` starts the Express one
 * (see serve.ts). It listens on port 3001 by default, so it can run beside the Express one.
 */
import { createKoaExampleApp } from './koa-app.ts';
import { run, serveExample } from './serve.ts';

run(() =>
  serveExample({
    defaultPort: 3001,
    label: '(Koa)',
    handler: (options) => createKoaExampleApp(options).app.callback(),
  }),
);
