/**
 * passport-argus for Koa: `requireArgus()`, `argusLogout()` and `ctx.state.argus`, with
 * koa-passport and koa-session (with an external store). The strategy is the same
 * `ArgusStrategy` from `passport-argus`.
 */
import './augment.ts';

export type { ArgusApiInit, ArgusMethod } from '../core/argus-client.ts';
export type { ArgusRequestContext } from '../core/argus-context.ts';
export type { ArgusLogoutOptions, RequireArgusOptions } from '../core/guard-settings.ts';
export { argusLogout } from './argus-logout.ts';
export type { MemorySessionStore } from './memory-store.ts';
export { memorySessionStore } from './memory-store.ts';
export { requireArgus } from './require-argus.ts';
