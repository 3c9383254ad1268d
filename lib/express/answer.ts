/** Writes a core {@link Answer} with Express. */
import type { Response } from 'express';
import type { Answer } from '../core/answers.ts';

/** Sends `answer` on `res`. */
export function send(res: Response, answer: Answer): void {
  res.status(answer.status);
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  if (answer.location !== undefined) {
    res.setHeader('Location', answer.location);
    res.end();
    return;
  }
  if (answer.contentType !== undefined) res.setHeader('Content-Type', answer.contentType);
  res.end(answer.body);
}
