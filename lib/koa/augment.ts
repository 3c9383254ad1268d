/**
 * Types for Koa users: `ctx.state.argus` on Koa's `DefaultState`.
 */
import type { ArgusRequestContext } from '../core/argus-context.ts';

declare module 'koa' {
  interface DefaultState {
    /** The user's Argus session; set by `requireArgus()` on the requests it lets through. */
    argus: ArgusRequestContext;
  }
}
