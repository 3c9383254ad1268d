/**
 * `--import` this (after tsx) to run a process with passport-argus's previous HTTP layer,
 * undici's `request`, in place of node:http: see undici-hooks.ts.
 */
import { register } from 'node:module';

register('./undici-hooks.ts', import.meta.url);
