## The page frame: menu, one-shot messages, read-only banner, footer. Everything is escaped (h).
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${self.title()} - das-actors</title>
<link rel="stylesheet" href="${c.url('static/style.css')}">
<script src="${c.url('static/app.js')}" defer></script>
</head>
<body data-section="${c.section}" data-refresh="${'%g' % c.refresh_s}">
<header class="top">
  <a class="brand" href="${c.url()}" id="brand">das-actors</a>
  <nav id="nav" aria-label="main">
  % for path, label in c.nav:
    <a href="${c.url(path)}" id="nav-${label.lower()}" data-testid="nav-${label.lower()}" class="${'active' if c.section == path else ''}">${label}</a>
  % endfor
  </nav>
  <span class="live-status" id="live-status" data-testid="live-status" hidden></span>
  % if c.login:
  <form method="post" action="${c.url('logout')}" class="inline logout">
    <input type="hidden" name="csrf_token" value="${c.csrf}">
    % if c.role == 'read':
    <span class="badge role" id="role" data-testid="role" title="logged in with the read-only token (web_read_token)">read-only token</span>
    % endif
    <button type="submit" id="logout" data-testid="logout" class="link">log out</button>
  </form>
  % endif
</header>
% if c.exposed_on:
<p class="banner danger" id="exposed-banner" data-testid="exposed-banner" role="alert">Open to the network without a token: this panel listens on ${c.exposed_on} and anyone who can reach it can add jobs, i.e. run code on this machine. Set web_token_file (or DAS_ACTORS_WEB_TOKEN), or listen on 127.0.0.1.</p>
% endif
% if c.server_read_only:
<p class="banner" id="read-only-banner" data-testid="read-only-banner">Read-only: this panel shows the server but refuses every change (--web-read-only).</p>
% elif c.role == 'read':
<p class="banner" id="read-role-banner" data-testid="read-role-banner">Read-only access: you logged in with the read token, which shows everything and changes nothing; changes need the admin token.</p>
% endif
<main>
% for kind, message in c.flash:
  <p class="flash ${kind}" role="status" data-testid="flash">${message}</p>
% endfor
${next.body()}
</main>
<footer>das-actors ${c.version} &middot; rendered ${f.when(c.now)} (UTC) &middot; <a href="${c.url('api/v1/openapi.json')}" id="openapi-link">API</a> &middot; <a href="${c.url('metrics')}">metrics</a> &middot; <a href="${c.url('healthz')}">healthz</a></footer>
</body>
</html>
