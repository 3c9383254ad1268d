/**
 * The example app's pages: plain HTML with inline CSS, no script and no front-end build.
 * Every value is escaped.
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
  :root { color-scheme: light; --ink:#16202c; --muted:#566275; --line:#dbe2ea; --brand:#0b5cad;
    --brand-dark:#094a8c; --night:#0f2740; --bg:#f3f6f9; --ok:#166534; --ok-bg:#ecfdf3; }
  * { box-sizing: border-box; }
  body { margin:0; font: 17px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
    color:var(--ink); background:var(--bg); }
  header { background:var(--night); color:#fff; padding:0 28px; height:58px; display:flex;
    align-items:center; justify-content:space-between; gap:16px; }
  header .brand { color:#fff; text-decoration:none; font-weight:700; letter-spacing:.01em; }
  header .who { display:flex; align-items:center; gap:14px; }
  header .who form { margin:0; }
  header .login { color:#fff; font-weight:600; text-decoration:none; }
  main { max-width:860px; margin:34px auto; padding:0 20px; }
  .card { background:#fff; border:1px solid var(--line); border-radius:12px; padding:24px 28px;
    margin-bottom:20px; box-shadow:0 1px 2px rgba(15,39,64,.06); }
  h1 { font-size:30px; line-height:1.25; margin:0 0 8px; }
  h2 { font-size:14px; text-transform:uppercase; letter-spacing:.08em; color:var(--muted);
    margin:0 0 14px; }
  p { margin:0 0 12px; }
  .lead { color:var(--muted); font-size:18px; }
  .button { display:inline-block; border:0; border-radius:8px; padding:11px 22px; font:inherit;
    font-weight:600; cursor:pointer; text-decoration:none; }
  .primary { background:var(--brand); color:#fff; }
  .primary:hover { background:var(--brand-dark); }
  .secondary { background:#fff; color:var(--brand); box-shadow:inset 0 0 0 1.5px var(--brand); }
  .secondary:hover { background:#eef4fb; }
  .actions { display:flex; flex-wrap:wrap; gap:12px; margin:20px 0 0; }
  .quiet { background:rgba(255,255,255,.14); color:#fff; padding:6px 14px; font-size:15px; }
  .quiet:hover { background:rgba(255,255,255,.24); }
  .steps { display:grid; grid-template-columns:repeat(3, 1fr); gap:14px; margin:22px 0 0;
    padding:0; list-style:none; counter-reset:step; }
  .steps li { border:1px solid var(--line); border-radius:10px; padding:14px 16px;
    color:var(--muted); font-size:15px; counter-increment:step; }
  .steps li::before { content:counter(step); display:inline-grid; place-items:center;
    width:24px; height:24px; margin-right:8px; border-radius:50%; background:var(--brand);
    color:#fff; font-size:13px; font-weight:700; }
  .steps strong { color:var(--ink); }
  .grid { display:grid; grid-template-columns:1fr 1fr; gap:20px; margin-bottom:20px; }
  .grid .card { margin:0; }
  dl { display:grid; grid-template-columns:auto 1fr; gap:10px 20px; margin:0; }
  dt { color:var(--muted); }
  dd { margin:0; font-weight:600; overflow-wrap:anywhere; }
  .expiry { font-size:30px; font-weight:700; line-height:1.2; margin:2px 0 6px; }
  .expiry time { font-variant-numeric:tabular-nums; }
  .badge { display:inline-block; padding:3px 10px; border-radius:999px; background:var(--ok-bg);
    color:var(--ok); font-size:15px; font-weight:600; }
  .small { color:var(--muted); font-size:15px; margin:12px 0 0; }
  pre { margin:0; background:#0f1b2a; color:#d6e2f0; border-radius:8px; padding:14px 16px;
    overflow:auto; max-height:480px; font-size:14px; line-height:1.45; }
  code { font-size:.92em; }
  .muted { color:var(--muted); }
  .notice { border-left:4px solid #c2410c; background:#fff7ed; padding:12px 16px;
    border-radius:6px; }
  footer { color:var(--muted); font-size:14px; text-align:center; margin:28px 0; }
  @media (max-width: 700px) { .grid, .steps { grid-template-columns:1fr; } }
`;

function layout(title: string, body: string, user?: string): string {
  const right = user
    ? `<div class="who"><span>${esc(user)}</span>
       <form method="post" action="/logout"><button class="button quiet" type="submit">Log out</button></form></div>`
    : '<a class="login" href="/login">Log in</a>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · passport-argus demo</title><style>${style}</style></head>
<body><header><a class="brand" href="/">passport-argus demo</a>${right}</header><main>${body}</main>
<footer>The passport-argus example app: log in with Argus, stay logged in, log out.</footer></body></html>`;
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
     <p class="lead">Log in with your Argus account, and stay logged in while you work.</p>
     ${notice}${action}
     <ol class="steps">
       <li><strong>Log in at Argus</strong> with your Argus user name and password.</li>
       <li><strong>Come back here</strong>, to the page you asked for.</li>
       <li><strong>Keep working</strong>: the Argus token is renewed before it runs out.</li>
     </ol></section>`,
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

/** "4 min 59 s" from a number of seconds. */
function duration(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return minutes === 0 ? `${seconds} s` : `${minutes} min ${seconds % 60} s`;
}

/** The protected page. */
export function accountPage(view: AccountView): string {
  const seconds = Math.max(0, Math.round((view.expiresAt.getTime() - view.now.getTime()) / 1000));
  const iso = view.expiresAt.toISOString();
  return layout(
    'Your Argus account',
    `<h1>Hello, <span data-testid="display-name">${esc(view.displayName)}</span></h1>
     <p class="lead">You are logged in with your Argus account.</p>
     <div class="grid">
       <section class="card" aria-labelledby="identity"><h2 id="identity">Argus identity</h2>
         <dl>
           <dt>Name</dt><dd>${esc(view.displayName)}</dd>
           <dt>User name</dt><dd data-testid="username">${esc(view.username)}</dd>
           <dt>Customer</dt><dd data-testid="customer">${esc(view.customer)}</dd>
         </dl></section>
       <section class="card" aria-labelledby="session"><h2 id="session">Access token expires</h2>
         <p class="expiry" data-testid="expires"><time datetime="${esc(iso)}">${esc(
           iso.slice(11, 19),
         )} UTC</time></p>
         <p><span class="badge">in ${esc(duration(seconds))}</span> <span class="muted">${esc(
           iso.slice(0, 10),
         )}</span></p>
         <p class="small">Renewed with Argus before it runs out, so this page keeps working.</p>
       </section>
     </div>
     <section class="card" aria-labelledby="api"><h2 id="api">Argus API answer</h2>
     <p class="muted"><code>GET /currentuser/v1/user</code>, called with your access token just now</p>
     <pre data-testid="api-answer">${esc(JSON.stringify(view.apiAnswer, null, 2))}</pre></section>`,
    view.displayName,
  );
}

/** Where the logged-out page's "Also log out of Argus" leads. */
export interface PortalLogoutLink {
  /** The address of the portal's logout, or of the portal home when none is known. */
  href: string;
  /** True when `href` is only the portal home, where the user still has to log out. */
  atHome: boolean;
}

/**
 * The page after "Log out". The app's logout ends the app session and the Argus session of
 * its token, but not the browser's login at the Argus portal, which would let the next
 * "Log in with Argus" through without a password: the page says so and offers both ways on.
 */
export function loggedOutPage(portalLogout: PortalLogoutLink): string {
  const hint = portalLogout.atHome
    ? '<p class="small">This opens the Argus portal: log out there.</p>'
    : '';
  return layout(
    'Logged out',
    `<section class="card"><h1>You are logged out</h1>
     <p class="lead">You are logged out of this app.</p>
     <p>Your Argus session has ended too (the app asked Argus to end it), but your browser is still logged in to the Argus portal, so the next login may not ask for your password.</p>
     <p class="actions"><a class="button primary" href="${esc(portalLogout.href)}">Also log out of Argus</a>
       <a class="button secondary" href="/login">Log in again</a></p>
     ${hint}</section>`,
  );
}
