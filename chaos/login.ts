/**
 * A user's login journey, as a browser makes it: the app's /login, the Argus portal's
 * login form (filled in and posted when the portal does not know the user yet), the
 * callback, and the landing page, which must name the user.
 */
import type { UserBrowser, Reply } from './browser.ts';
import type { Ledger } from './ledger.ts';
import { passwordOf } from './settings.ts';

const MAX_HOPS = 12;

/** The `return` field of the portal's login form. */
function returnField(html: string): string | undefined {
  const input = /<input[^>]*name="return"[^>]*>/i.exec(html)?.[0];
  const value = input === undefined ? undefined : /value="([^"]*)"/i.exec(input)?.[1];
  return value
    ?.replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/**
 * Logs `user` in through the instance at `appURL`; true when it landed logged in. The
 * answers of the app on the way are counted in the ledger.
 */
export async function logIn(
  browser: UserBrowser,
  user: string,
  appURL: string,
  portalURL: string,
  ledger: Ledger,
): Promise<boolean> {
  let url = `${appURL}/login`;
  let reply: Reply = await browser.send(url, { kind: 'page' });
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    if (url.startsWith(appURL)) ledger.addLoginOutcome(reply.outcome);
    if (typeof reply.outcome !== 'number') return false;
    if (reply.outcome >= 300 && reply.outcome < 400 && reply.location !== undefined) {
      url = reply.location;
      reply = await browser.send(url, { kind: 'page' });
      continue;
    }
    const back = reply.outcome === 200 ? returnField(reply.body) : undefined;
    if (back !== undefined && url.startsWith(portalURL)) {
      url = `${portalURL}/spa/login`;
      reply = await browser.send(url, {
        kind: 'page',
        form: { username: user, password: passwordOf(user), return: back },
      });
      continue;
    }
    return reply.outcome === 200 && url === `${appURL}/` && reply.json?.user === user;
  }
  return false;
}
