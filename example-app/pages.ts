/**
 * The example app's pages: plain HTML with inline CSS, no front-end build. Every value
 * is escaped.
 */

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** HTML-escapes a value. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => escapes[c] ?? c);
}

const style = `
  :root { color-scheme: light; --ink:#1b2330; --muted:#5b6575; --line:#dde3ea; --brand:#0b5cad; --bg:#f5f7fa; }
  * { box-sizing: border-box; }
  body { margin:0; font: 17px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
  header { background:#102a43; color:#fff; padding:14px 28px; display:flex; align-items:center; justify-content:space-between; }
  header a { color:#fff; text-decoration:none; font-weight:600; }
  main { max-width:820px; margin:36px auto; padding:0 20px; }
  .card { background:#fff; border:1px solid var(--line); border-radius:12px; padding:26px 30px; margin-bottom:22px; box-shadow:0 1px 2px rgba(16,42,67,.06); }
  h1 { font-size:28px; margin:0 0 10px; }
  h2 { font-size:19px; margin:0 0 14px; }
  p.lead { color:var(--muted); margin-top:0; }
  .button { display:inline-block; border:0; border-radius:8px; padding:11px 20px; font:inherit; font-weight:600; cursor:pointer; text-decoration:none; }
  .primary { background:var(--brand); color:#fff; }
  .secondary { background:#e8edf3; color:var(--ink); }
  dl { display:grid; grid-template-columns: 170px 1fr; gap:10px 18px; margin:0; }
  dt { color:var(--muted); }
  dd { margin:0; font-weight:600; }
  pre { background:#0f1b2a; color:#d6e2f0; border-radius:8px; padding:16px; overflow:auto; font-size:14px; line-height:1.45; }
  .notice { border-left:4px solid #c2410c; background:#fff7ed; padding:12px 16px; border-radius:6px; }
  .ok { color:#15803d; }
  footer { color:var(--muted); font-size:14px; text-align:center; margin:30px 0; }
`;

function layout(title: string, body: string, user?: string): string {
  const right = user ? `<span>${esc(user)}</span>` : '<a href="/login">Log in</a>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · passport-argus demo</title><style>${style}</style></head>
<body><header><a href="/">passport-argus demo</a>${right}</header><main>${body}</main>
<footer>An Express app logging in with Argus through passport-argus.</footer></body></html>`;
}

/** The home page. */
export function homePage(user: { displayName?: string } | undefined, failed: boolean): string {
  const notice = failed
    ? '<p class="notice" role="alert">The Argus login did not complete. Please try again.</p>'
    : '';
  const action = user
    ? `<p>You are logged in as <strong>${esc(user.displayName)}</strong>.</p>
       <p><a class="button primary" href="/app">Open your Argus page</a></p>`
    : `<p><a class="button primary" href="/login">Log in with Argus</a></p>`;
  return layout(
    'Home',
    `<section class="card"><h1>Welcome</h1>
     <p class="lead">This app lets you log in with your Argus account and keeps your Argus session alive while you work.</p>
     ${notice}${action}</section>`,
    user?.displayName,
  );
}

/** What the protected page shows. */
export interface AccountView {
  displayName: string;
  username: string;
  customer: string;
  expiresAt: Date;
  now: Date;
  apiAnswer: unknown;
}

/** The protected page. */
export function accountPage(view: AccountView): string {
  const seconds = Math.max(0, Math.round((view.expiresAt.getTime() - view.now.getTime()) / 1000));
  return layout(
    'Your Argus account',
    `<section class="card"><h1>Hello, <span data-testid="display-name">${esc(view.displayName)}</span></h1>
     <p class="lead">You are logged in with Argus.</p>
     <dl>
       <dt>User name</dt><dd data-testid="username">${esc(view.username)}</dd>
       <dt>Customer</dt><dd data-testid="customer">${esc(view.customer)}</dd>
       <dt>Token expires</dt><dd data-testid="expires"><time datetime="${esc(view.expiresAt.toISOString())}">${esc(
         view.expiresAt.toISOString().replace('T', ' ').slice(0, 19),
       )} UTC</time> <span class="ok">(in ${seconds} s; refreshed automatically)</span></dd>
     </dl></section>
     <section class="card"><h2>Argus says: <code>GET /currentuser/v1/user</code></h2>
     <pre data-testid="api-answer">${esc(JSON.stringify(view.apiAnswer, null, 2))}</pre></section>
     <section class="card"><form method="post" action="/logout"><button class="button secondary" type="submit">Log out</button></form></section>`,
    view.displayName,
  );
}
