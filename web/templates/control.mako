<%inherit file="layout.mako"/>
<%namespace name="w" file="widgets.mako"/>
<%def name="title()">Control</%def>
<%
  err_msg, err_field = error if error else (None, None)
%>
<h1>Control</h1>

<h2 id="add-job">Add a job</h2>
% if c.read_only:
<p class="muted">Read-only: jobs cannot be added here.</p>
% else:
<form method="get" action="${c.url('control')}" id="class-picker" class="filters">
  <label>task class <select name="classname" id="classname-picker" data-testid="classname-picker" data-autosubmit>
  % for t in tasks:
    <option value="${t['classname']}" ${'selected' if t['classname'] == chosen else ''}>${t['classname']}</option>
  % endfor
  </select></label>
  <button type="submit" id="pick-class" data-testid="pick-class">show its arguments</button>
</form>
% if task:
<p class="muted" id="task-info">${task.get('info') or ''}</p>
% endif
% if err_msg:
<p class="flash error" role="alert" id="form-error" data-testid="form-error" data-field="${err_field or ''}">${err_msg}</p>
% endif
<form method="post" action="${c.url('control/jobs')}" id="add-job-form" data-testid="add-job-form" class="grid">
  <input type="hidden" name="csrf_token" value="${c.csrf}">
  <input type="hidden" name="classname" value="${chosen}">
  <label>class <input type="text" value="${chosen}" disabled id="add-classname"></label>
  <label class="${'bad' if err_field == 'name' else ''}">name <input type="text" name="name" id="add-name" data-testid="add-name" value="${form.get('name', '')}" required></label>
  <label class="${'bad' if err_field == 'interval' else ''}">interval (s) <input type="number" step="any" min="0" name="interval" id="add-interval" data-testid="add-interval" value="${form.get('interval', '3600')}"></label>
  <fieldset><legend>or a calendar schedule</legend>
    <label class="${'bad' if err_field == 'cron' else ''}">cron <input type="text" name="cron" id="add-cron" data-testid="add-cron" value="${form.get('cron', '')}" placeholder="30 2 * * *" title="five fields (minute hour day-of-month month day-of-week) or @hourly, @daily ...; when given, the interval is not used"></label>
    <label class="${'bad' if err_field == 'tz' else ''}">time zone <input type="text" name="tz" id="add-tz" data-testid="add-tz" value="${form.get('tz', '')}" placeholder="UTC, Europe/Zurich"></label>
  </fieldset>
  <fieldset><legend>timing</legend>
    <label class="${'bad' if err_field == 'jitter' else ''}">jitter (s) <input type="number" min="0" step="any" name="jitter" id="add-jitter" value="${form.get('jitter', '')}" placeholder="0"></label>
    <label class="${'bad' if err_field == 'misfire' else ''}">misfire <select name="misfire" id="add-misfire">
      % for choice, label in (('', 'server default'), ('coalesce', 'coalesce: the newest missed slot runs'), ('all', 'all: each missed slot runs'), ('skip', 'skip: none runs')):
      <option value="${choice}" ${'selected' if form.get('misfire', '') == choice else ''}>${label}</option>
      % endfor
    </select></label>
    <label class="${'bad' if err_field == 'misfire_grace' else ''}">misfire grace (s) <input type="text" name="misfire_grace" id="add-misfire-grace" value="${form.get('misfire_grace', '')}" placeholder="min(period, 1 h); unlimited"></label>
  </fieldset>
  % for opt in (task or {}).get('options', []):
  <% name, kind = opt['name'], opt.get('type', 'json'); field_id = 'arg-' + name; default = opt.get('default') %>
  <label class="${'bad' if err_field == name else ''}" title="${opt.get('help', '')}">${name} <span class="muted">(${kind}${', required' if opt.get('required') else ''})</span>
    % if kind == 'bool':
    <input type="checkbox" name="arg_${name}" id="${field_id}" data-testid="${field_id}" ${'checked' if (form.get('arg_' + name) in ('on', 'true') if 'name' in form else default) else ''}>
    % elif kind in ('int', 'float'):
    <input type="number" step="${'1' if kind == 'int' else 'any'}" name="arg_${name}" id="${field_id}" data-testid="${field_id}" value="${form.get('arg_' + name, '' if default is None else default)}">
    % elif kind == 'str':
    <input type="text" name="arg_${name}" id="${field_id}" data-testid="${field_id}" value="${form.get('arg_' + name, '' if default is None else default)}">
    % else:
    <textarea name="arg_${name}" id="${field_id}" data-testid="${field_id}" rows="2">${form.get('arg_' + name, '' if default is None else f.data(default))}</textarea>
    % endif
    <small class="muted">${opt.get('help', '')}</small>
  </label>
  % endfor
  <label class="${'bad' if err_field == 'kwargs' else ''}">other arguments (JSON object) <textarea name="kwargs" id="add-kwargs" data-testid="add-kwargs" rows="2" placeholder="{}">${form.get('kwargs', '')}</textarea></label>
  <fieldset><legend>limits</legend>
    <label><input type="checkbox" name="only_once" id="add-only-once" ${'checked' if form.get('only_once') else ''}> only once</label>
    <label class="${'bad' if err_field == 'max_runs' else ''}">max runs <input type="number" min="1" step="1" name="max_runs" id="add-max-runs" value="${form.get('max_runs', '')}"></label>
    <label class="${'bad' if err_field == 'only_before' else ''}">only before <input type="text" name="only_before" id="add-only-before" value="${form.get('only_before', '')}" placeholder="+1d, 18:00, ISO"></label>
    <label class="${'bad' if err_field == 'timeout' else ''}">timeout (s) <input type="number" min="0" step="any" name="timeout" id="add-timeout" value="${form.get('timeout', '')}"></label>
    <label class="${'bad' if err_field == 'retries' else ''}">retries <input type="number" min="0" step="1" name="retries" id="add-retries" value="${form.get('retries', '')}"></label>
    <label class="${'bad' if err_field == 'when' else ''}">first run <input type="text" name="when" id="add-when" value="${form.get('when', '')}" placeholder="now, +5m, 14:30"></label>
  </fieldset>
  <button type="submit" id="add-job-submit" data-testid="add-job-submit">add job</button>
</form>
% endif

<h2 id="options">Options</h2>
<p class="muted">Live options apply at once; the others are read at start (set them in the config file or with their flag, then restart).</p>
<table id="options-table" data-testid="options">
<thead><tr><th>option</th><th>value</th><th>source</th><th>default</th><th>applies</th><th>what it does</th></tr></thead>
<tbody>
% for o in options:
<tr data-option="${o['name']}">
  <td class="mono">${o['name']}</td>
  <td>
  % if o['live'] and not c.read_only:
    <form method="post" action="${c.url('control/options')}" class="inline">
      <input type="hidden" name="csrf_token" value="${c.csrf}"><input type="hidden" name="name" value="${o['name']}">
      <input type="text" name="value" id="option-${o['name']}" data-testid="option-${o['name']}" value="${o['value']}" size="10" aria-label="${o['name']}">
      <button type="submit" id="set-${o['name']}" data-testid="set-${o['name']}">set</button>
    </form>
  % else:
    <span class="mono" id="value-${o['name']}">${o['value']}</span>
  % endif
  </td>
  <td>${o['source']}</td>
  <td class="mono">${o['default']}</td>
  <td>${'live' if o['live'] else 'restart'}</td>
  <td>${o['help']}</td>
</tr>
% endfor
</tbody>
</table>
