/** Writes a core {@link Answer} with Koa. */
import type { ParameterizedContext } from 'koa';
import type { Answer } from '../core/answers.ts';

/** Sends `answer` through `ctx`, as Koa writes it when the middleware stack unwinds. */
export function send(ctx: ParameterizedContext, answer: Answer): void {
  ctx.status = answer.status;
  ctx.set(answer.headers);
  if (answer.location !== undefined) {
    ctx.set('Location', answer.location);
    // An empty body keeps the status (a null body would turn it into 204) and adds no text.
    ctx.body = '';
    ctx.remove('Content-Type');
    return;
  }
  if (answer.contentType !== undefined) ctx.set('Content-Type', answer.contentType);
  ctx.body = answer.body ?? '';
}
