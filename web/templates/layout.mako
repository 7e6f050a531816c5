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
<body data-section="${c.section}">
<header class="top">
  <a class="brand" href="${c.url()}" id="brand">das-actors</a>
  <nav id="nav" aria-label="main">
  % for path, label in c.nav:
    <a href="${c.url(path)}" id="nav-${label.lower()}" data-testid="nav-${label.lower()}" class="${'active' if c.section == path else ''}">${label}</a>
  % endfor
  </nav>
  % if c.login:
  <form method="post" action="${c.url('logout')}" class="inline logout">
    <input type="hidden" name="csrf_token" value="${c.csrf}">
    <button type="submit" id="logout" data-testid="logout" class="link">log out</button>
  </form>
  % endif
</header>
% if c.read_only:
<p class="banner" id="read-only-banner" data-testid="read-only-banner">Read-only: this panel shows the server but refuses every change (--web-read-only).</p>
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
