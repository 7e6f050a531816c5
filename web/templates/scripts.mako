<%inherit file="layout.mako"/>
<%namespace name="w" file="widgets.mako"/>
<%def name="title()">Scripts</%def>
<h1>Scripts</h1>
% if not enabled:
<p class="muted" id="scripts-off" data-testid="scripts-off">Scripts are turned off on this server (option <code>scripts</code>, <code>--no-scripts</code>).</p>
% else:
<p class="muted">Python written here runs on the workers, never in the server: its own timeout, memory cap and process group, like any task. A script's top-level code is its run (its arguments are the dict <code>args</code>), or it defines a task class. Plots and <code>display(df)</code> tables show up below it.</p>
<form method="get" action="${c.url('scripts')}" class="filters" id="scripts-filter">
  <label>tag <input type="text" name="tag" value="${tag}" size="14"></label>
  <button type="submit">filter</button>
</form>
% if not c.read_only:
<form method="get" action="${c.url('scripts/new')}" class="filters" id="new-script-form">
  <label>new script <input type="text" name="name" id="new-script-name" data-testid="new-script-name" placeholder="a-name" required pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,99}" size="24"></label>
  <button type="submit" id="new-script" data-testid="new-script">write it</button>
</form>
% endif
<table id="scripts" data-testid="scripts">
<thead><tr><th>name</th><th>version</th><th>tags</th><th>updated</th><th>schedule</th></tr></thead>
<tbody>
% for s in found.items:
<tr data-script="${s['name']}">
  <td><a href="${c.url('scripts/' + s['name'])}" data-testid="script-link">${s['name']}</a></td>
  <td>${s.get('latest')}</td>
  <td>
  % for t in s.get('tags') or []:
    <a class="badge" href="${c.url('scripts', tag=t)}">${t}</a>
  % endfor
  </td>
  <td>${f.when(s.get('updated_at'))}</td>
  <td>
  % if (s.get('schedule') or {}).get('job_id'):
    <a href="${c.job_url(s['schedule']['job_id'])}">every ${f.dur(s['schedule'].get('interval'), precise=False)}</a> (v${s['schedule'].get('version')})
  % else:
    <span class="muted">-</span>
  % endif
  </td>
</tr>
% endfor
</tbody>
</table>
${w.pager(found.total, limit, offset, found.more, 'scripts', {'tag': tag} if tag else {})}
% endif
