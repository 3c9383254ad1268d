import { escapeHTML } from './http-util.ts';
import type { ResolvedUser } from './options.ts';

/**
 * HTML of the emulated portal. Every value that came from a request or an option goes through
 * escapeHTML: these pages must be safe to show whatever a test throws at them.
 */

const STYLE = `
  *{box-sizing:border-box}
  body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
    background:#eef1f5;color:#1d2733;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
  main{width:100%;max-width:26rem;margin:1rem;padding:2rem;background:#fff;border-radius:10px;
    box-shadow:0 2px 12px rgba(20,30,50,.12)}
  .brand{margin:0 0 1.25rem;font-size:.8rem;letter-spacing:.12em;text-transform:uppercase;color:#5a6b80}
  .brand strong{color:#0b5cad}
  h1{margin:0 0 1rem;font-size:1.4rem}
  label{display:block;margin:.9rem 0 .3rem;font-weight:600;font-size:.9rem}
  input[type=text],input[type=password]{width:100%;padding:.6rem .7rem;border:1px solid #b8c3d1;
    border-radius:6px;font:inherit}
  input:focus{outline:2px solid #0b5cad;outline-offset:1px}
  button{margin-top:1.3rem;width:100%;padding:.65rem;border:0;border-radius:6px;background:#0b5cad;
    color:#fff;font:inherit;font-weight:600;cursor:pointer}
  button:hover{background:#094a8c}
  .error{margin:0 0 .5rem;padding:.6rem .8rem;border-radius:6px;background:#fdecec;color:#8a1c1c}
  .note{margin-top:1.5rem;font-size:.8rem;color:#5a6b80}
  code{font-size:.9em}
`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Argus (emulator) — ${escapeHTML(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<p class="brand"><strong>Argus</strong> emulator</p>
${body}
<p class="note">A local stand-in for the Argus portal, for development and tests.</p>
</main>
</body>
</html>
`;
}

/** What the login form shows. */
export interface LoginPageInput {
  readonly returnTo: string;
  readonly userName?: string;
  readonly error?: string;
}

/** The portal login form. It posts `username`, `password` and the hidden `return`. */
export function loginPage({ returnTo, userName = '', error }: LoginPageInput): string {
  const message =
    error === undefined ? '' : `<p class="error" role="alert">${escapeHTML(error)}</p>\n`;
  return layout(
    'Log in',
    `<h1>Log in to Argus</h1>
${message}<form method="post" action="/spa/login">
<input type="hidden" name="return" value="${escapeHTML(returnTo)}">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="${escapeHTML(userName)}" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form>`,
  );
}

/** A page that explains why a request was refused, without a link anywhere. */
export function errorPage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHTML(title)}</h1>\n<p>${escapeHTML(message)}</p>`);
}

/** The refusal shown to a user whom the client does not permit. */
export function deniedPage(user: ResolvedUser, clientID: string): string {
  return layout(
    'Access denied',
    `<h1>Access denied</h1>
<p>${escapeHTML(user.name)} (<code>${escapeHTML(user.userName)}</code>) is not permitted to use the
application <code>${escapeHTML(clientID)}</code>.</p>
<form method="post" action="/spa/logout"><button type="submit">Log out of Argus</button></form>`,
  );
}

/** The portal start page: who is logged in, with a logout button. */
export function homePage(user: ResolvedUser | undefined): string {
  if (user === undefined) {
    return layout(
      'Not logged in',
      `<h1>Not logged in</h1>
<p>You are not logged in to Argus.</p>
<form method="get" action="/spa/login"><input type="hidden" name="return" value="/spa/"><button type="submit">Log in</button></form>`,
    );
  }
  return layout(
    'Logged in',
    `<h1>Logged in</h1>
<p>You are logged in to Argus as <strong>${escapeHTML(user.name)}</strong>
(<code>${escapeHTML(user.userName)}</code>).</p>
<form method="post" action="/spa/logout"><button type="submit">Log out of Argus</button></form>`,
  );
}

/** Shown after a portal logout. */
export function loggedOutPage(): string {
  return layout(
    'Logged out',
    `<h1>You are logged out of Argus</h1>
<p>Applications that you used with this Argus account can no longer refresh their sessions.</p>`,
  );
}
