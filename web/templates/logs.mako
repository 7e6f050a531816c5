<%inherit file="layout.mako"/>
<%namespace name="w" file="widgets.mako"/>
<%def name="title()">Logs</%def>
<h1>Logs</h1>
<form method="get" action="${c.url('logs')}" class="filters" id="logs-filter">
  <label>type <select name="type" id="filter-type" data-testid="filter-type">
    <option value="log" ${'selected' if sel['type'] == 'log' else ''}>system (log)</option>
    <option value="reslog" ${'selected' if sel['type'] == 'reslog' else ''}>tasks (reslog)</option>
  </select></label>
  <label>logger prefix <input type="text" name="logger" id="filter-logger" value="${sel['logger']}" size="22" placeholder="das_actors.scheduler"></label>
  <label>min level <select name="level" id="filter-level">
  % for lv in levels:
    <option value="${lv}" ${'selected' if sel['level'].lower() == lv else ''}>${lv or 'any'}</option>
  % endfor
  </select></label>
  <label>job id <input type="text" name="job_id" id="filter-job-id" value="${sel['job_id']}" size="16"></label>
  <label>last (s) <input type="number" name="last" id="filter-last" min="0" step="any" value="${sel['last']}" size="6"></label>
  <label>per page <input type="number" name="limit" id="filter-limit" min="1" max="1000" value="${limit}" size="4"></label>
  <button type="submit" id="logs-filter-submit">filter</button>
</form>
% if loggers:
<p id="child-loggers">narrow to:
% for name in loggers:
  <a href="${c.url('logs', type=sel['type'], logger=name, level=sel['level'], job_id=sel['job_id'], last=sel['last'])}" data-testid="logger-link">${name}</a>
% endfor
% if sel['logger'] and '.' in sel['logger']:
  &middot; <a href="${c.url('logs', type=sel['type'], logger=sel['logger'].rsplit('.', 1)[0], level=sel['level'])}" id="parent-logger">up</a>
% endif
</p>
% endif

<section id="live-tail" data-testid="live-tail" data-stream-url="${tail_url}" data-type="${sel['type']}">
  <h2>Live tail <button type="button" id="tail-toggle" data-testid="tail-toggle" hidden>start</button> <span id="tail-status" data-testid="tail-status" class="muted">needs JavaScript; reload the page to see new lines</span></h2>
  <table class="log"><tbody id="tail-lines" data-testid="tail-lines"></tbody></table>
</section>

<h2>Stored lines</h2>
${w.pager(total, limit, offset, more, 'logs', {k: v for k, v in sel.items() if v})}
<table id="logs" data-testid="logs" class="log">
<thead><tr><th>time</th><th>level</th><th>logger</th><th>message</th><th>${'run' if sel['type'] == 'reslog' else 'fields'}</th></tr></thead>
<tbody>
% for line in logs:
<tr class="level-${f.level(line).lower()}">
  <td>${f.when(line.get('time'))}</td>
  <td>${f.level(line)}</td>
  <td><a href="${c.url('logs', type=sel['type'], logger=line.get('logger', ''))}">${line.get('logger', '')}</a></td>
  <td class="msg">${line.get('msg', '')}</td>
  % if sel['type'] == 'reslog':
  <td><a href="${c.run_url(line.get('job_id', ''), line.get('index', ''), line.get('attempt'))}">${line.get('name', '')} #${line.get('index', '')}</a></td>
  % else:
  <td class="clip mono">${f.compact(line.get('fields'))}</td>
  % endif
</tr>
% endfor
</tbody>
</table>
