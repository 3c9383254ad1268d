/**
 * A small NestJS app with passport-argus, as a Nest user writes it: the strategy through
 * `@nestjs/passport`'s `PassportStrategy(ArgusStrategy)` with a `validate` method,
 * `requireArgus()` applied to a controller with `MiddlewareConsumer`, express-session and
 * `passport.session()` through `app.use`. Served on loopback port 0 against a real
 * emulator.
 *
 * The decorators are applied as plain calls (`Controller('app')(ProtectedController)` is
 * `@Controller('app')` on the class): the test compiler strips types without the
 * `experimentalDecorators` setting, and the constructor's dependency is named with
 * `@Inject` rather than read from `emitDecoratorMetadata`.
 */
import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Controller,
  Get,
  Inject,
  Injectable,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  Req,
  RequestMethod,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PassportStrategy } from '@nestjs/passport';
import { ExpressAdapter } from '@nestjs/platform-express';
import express, { type Request } from 'express';
import session from 'express-session';
import passport from 'passport';
import {
  type ArgusProfile,
  ArgusStrategy,
  type ArgusStrategyOptions,
  type ArgusTokenSet,
  requireArgus,
} from 'passport-argus';
import { type ArgusEmulator, startArgusEmulator } from 'passport-argus/emulator';
import { CLIENT_ID, CLIENT_SECRET, SECRET } from './app.ts';

/** The Nest app's own user, made by `validate` from the Argus profile. */
export interface NestUser {
  id: string;
  username: string;
  /** Which `validate` made it. */
  via: string;
}

const ARGUS_OPTIONS = Symbol('ARGUS_OPTIONS');

/** `validate(tokens, profile)`: the Argus form, which a rest-parameter callback keeps. */
class ArgusAuthStrategy extends PassportStrategy(ArgusStrategy) {
  constructor(options: ArgusStrategyOptions) {
    super(options);
  }

  async validate(tokens: ArgusTokenSet, profile: ArgusProfile | undefined): Promise<NestUser> {
    if (!tokens.accessToken || profile === undefined) throw new Error('no Argus login');
    return { id: `nest-${profile.id}`, username: profile.username, via: 'argus' };
  }
}
Injectable()(ArgusAuthStrategy);
Inject(ARGUS_OPTIONS)(ArgusAuthStrategy, undefined, 0);

/**
 * `validate(accessToken, refreshToken, profile)`, a passport-oauth2 app's, with
 * `@nestjs/passport`'s third argument `true`: the callback's length becomes
 * `validate.length + 1`, which picks passport-oauth2's form.
 */
class OAuth2AuthStrategy extends PassportStrategy(ArgusStrategy, 'argus', true) {
  constructor(options: ArgusStrategyOptions) {
    super(options);
  }

  async validate(
    accessToken: string,
    refreshToken: string | undefined,
    profile: ArgusProfile | undefined,
  ): Promise<NestUser> {
    if (typeof accessToken !== 'string' || typeof refreshToken !== 'string') {
      throw new Error('expected the token strings');
    }
    if (profile === undefined) throw new Error('no profile');
    return { id: `nest-${profile.id}`, username: profile.username, via: 'oauth2' };
  }
}
Injectable()(OAuth2AuthStrategy);
Inject(ARGUS_OPTIONS)(OAuth2AuthStrategy, undefined, 0);

class PagesController {
  home(req: Request): string {
    return req.user ? `home of ${(req.user as NestUser).username}` : 'home';
  }
}
Controller()(PagesController);
Get()(PagesController.prototype, 'home', describe(PagesController.prototype, 'home'));
Req()(PagesController.prototype, 'home', 0);

class ProtectedController {
  me(req: Request): { user: unknown; expiresAt: string } {
    return { user: req.user, expiresAt: req.argus.expiresAt.toISOString() };
  }
}
Controller('app')(ProtectedController);
Get('me')(ProtectedController.prototype, 'me', describe(ProtectedController.prototype, 'me'));
Req()(ProtectedController.prototype, 'me', 0);

function describe(target: object, key: string): PropertyDescriptor {
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  if (descriptor === undefined) throw new Error(`no method ${key}`);
  return descriptor;
}

/** The app module: the login routes and the guard as Nest middleware. */
class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(passport.authenticate('argus'))
      .forRoutes({ path: 'login', method: RequestMethod.GET });
    consumer
      .apply(
        passport.authenticate('argus', {
          successReturnToOrRedirect: '/',
          failureRedirect: '/login-failed',
        }),
      )
      .forRoutes({ path: 'oauth/callback', method: RequestMethod.GET });
    consumer.apply(requireArgus()).forRoutes(ProtectedController);
  }
}

export interface NestTestApp {
  url: string;
  emulator: ArgusEmulator;
  close(): Promise<void>;
}

/** Starts the emulator and the Nest app with the strategy whose `validate` is `style`'s. */
export async function startNestApp(style: 'argus' | 'oauth2'): Promise<NestTestApp> {
  // The callback URL must be known to both the emulator and the strategy before Nest
  // builds the strategy, so the server listens first and gets its handler afterwards.
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const callbackURL = `${url}/oauth/callback`;
  const emulator = await startArgusEmulator({
    quiet: true,
    clients: [{ clientID: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [callbackURL] }],
  });
  const options: ArgusStrategyOptions = {
    clientID: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    callbackURL,
    portalURL: emulator.portalURL,
    apiURL: emulator.apiURL,
    timeout: 2000,
  };
  const strategy = style === 'argus' ? ArgusAuthStrategy : OAuth2AuthStrategy;
  Module({
    controllers: [PagesController, ProtectedController],
    providers: [strategy, { provide: ARGUS_OPTIONS, useValue: options }],
  })(AppModule);

  passport.serializeUser((user, done) => done(null, user));
  passport.deserializeUser((user: Express.User, done) => done(null, user));
  const expressApp = express();
  const app = await NestFactory.create(AppModule, new ExpressAdapter(expressApp), {
    logger: false,
  });
  app.use(session({ secret: SECRET, resave: false, saveUninitialized: false }), passport.session());
  await app.init();
  server.on('request', expressApp);

  return {
    url,
    emulator,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await app.close();
      await emulator.close();
    },
  };
}
