import { type MockInstance, vi } from 'vitest';

/** A process warning as `process.emitWarning` would have made it: `name` is its type. */
export interface CapturedWarning {
  name: string;
  code: string | undefined;
  message: string;
}

type EmitWarningOptions = { type?: string; code?: string };

/** The spy of the running capture, so that a second call in one test reuses it. */
let spy: MockInstance<typeof process.emitWarning> | undefined;

/**
 * Records the process warnings the code under test emits, instead of letting Node print
 * them, for tests that cause warnings on purpose and assert on them: a clean test run
 * prints none. Undo with {@link releaseWarnings} (or `vi.restoreAllMocks()`).
 */
export function captureWarnings(): CapturedWarning[] {
  const warnings: CapturedWarning[] = [];
  spy?.mockRestore();
  spy = vi.spyOn(process, 'emitWarning').mockImplementation(((
    warning: string | Error,
    options?: string | EmitWarningOptions,
    code?: string,
  ) => {
    const type = typeof options === 'string' ? options : options?.type;
    warnings.push({
      name: type ?? (typeof warning === 'string' ? 'Warning' : warning.name),
      code: typeof options === 'object' ? options.code : code,
      message: typeof warning === 'string' ? warning : warning.message,
    });
  }) as typeof process.emitWarning);
  return warnings;
}

/** Lets warnings through to Node again. */
export function releaseWarnings(): void {
  spy?.mockRestore();
  spy = undefined;
}
