<%inherit file="layout.mako"/>
<%def name="title()">Log in</%def>
<h1>Log in</h1>
% if message:
<p class="flash error" role="alert" id="login-message" data-testid="login-message">${message}</p>
% endif
% if c.login:
<form method="post" action="${c.url('login')}" id="login-form" data-testid="login-form">
  <input type="hidden" name="csrf_token" value="${c.csrf}">
  <input type="hidden" name="next" value="${next_url}">
  <label>web token <input type="password" name="token" id="token" data-testid="token" autocomplete="current-password" required autofocus></label>
  <button type="submit" id="login-submit" data-testid="login-submit">log in</button>
</form>
<p class="muted">The server was started with <code>--web-token</code>. Scripts send <code>Authorization: Bearer &lt;token&gt;</code> instead.</p>
% else:
<p><a href="${c.url()}">to the overview</a></p>
% endif
