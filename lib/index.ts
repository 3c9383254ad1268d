/**
 * passport-argus: log in with Argus in Express, call the Argus API on the user's behalf,
 * and keep the short-lived Argus session alive.
 */
import './express/augment.ts';

export type { ArgusApiInit, ArgusMethod, ArgusTokenParams } from './core/argus-client.ts';
export { ArgusClient } from './core/argus-client.ts';
export type { ArgusRequestContext, RenewOutcome } from './core/argus-context.ts';
export type {
  BreakerHooks,
  BreakerOptions,
  BreakerReport,
  BreakerSettings,
  SharedBreaker,
  Verdict,
} from './core/breaker.ts';
export { ArgusBreaker } from './core/breaker.ts';
export type {
  ClaimOutcome,
  RefreshCoordinator,
  RefreshLock,
  LocalRefreshCoordinatorOptions,
  SessionFacts,
  SuccessorRecord,
} from './core/coordinator.ts';
export { LocalRefreshCoordinator } from './core/coordinator.ts';
export type {
  RedisCommandClient,
  RedisRefreshCoordinatorOptions,
} from './core/redis-coordinator.ts';
export { RedisRefreshCoordinator } from './core/redis-coordinator.ts';
export type { EncryptionKey, EncryptionKeyInput } from './core/encryption-keys.ts';
export { ArgusErrorCode, ArgusError, isArgusError, isRejection } from './core/errors.ts';
export type { ArgusErrorOptions } from './core/errors.ts';
export type { ArgusLogoutOptions, RequireArgusOptions } from './core/guard-settings.ts';
export type {
  ArgusStrategyOptions,
  ArgusStrategyOptionsBase,
  ArgusStrategyOptionsWithRequest,
  ClientAuthentication,
  ProfileSource,
  VerifyStyle,
} from './core/options.ts';
export { DEFAULT_API_URL, DEFAULT_PORTAL_URL } from './core/options.ts';
export type { ArgusOrganisation, ArgusProfile } from './core/profile.ts';
export type {
  ArgusEvents,
  ArgusSessionOutcome,
  BreakerSource,
  LoginFailureReason,
  LogoutReason,
} from './core/events.ts';
export type {
  LoginClaim,
  RefreshEngineOptions,
  RefreshHooks,
  RefreshResult,
} from './core/refresh-engine.ts';
export { RefreshEngine } from './core/refresh-engine.ts';
export type { LocalCoordinatorStats, RefreshEngineStats } from './core/stats.ts';
export type { ArgusTokenSet } from './core/token-set.ts';
export type {
  ArgusCallTraceContext,
  FetchTraceContext,
  LoginTraceContext,
  LogoutTraceContext,
  RefreshTraceContext,
  TraceContext,
  TraceOutcome,
} from './core/tracing.ts';
export { ArgusTraceChannel } from './core/tracing.ts';
export { safeReturnTo } from './core/urls.ts';
export type { ArgusWarning, DeploymentFacts } from './core/warnings.ts';
export {
  ArgusWarningCode,
  deploymentWarnings,
  WARNING_TYPE,
  warnAboutDeployment,
} from './core/warnings.ts';
export { argusLogout } from './express/argus-logout.ts';
export { requireArgus } from './express/require-argus.ts';
export type {
  ArgusVerify,
  ArgusVerifyCallback,
  ArgusVerifyWithRequest,
  OAuth2Verify,
  OAuth2VerifyWithParams,
  OAuth2VerifyWithRequest,
  OAuth2VerifyWithRequestAndParams,
} from './verify.ts';
export { ArgusStrategy } from './strategy.ts';
export type { ArgusStrategyView } from './strategy-view.ts';
