<%inherit file="layout.mako"/>
<%namespace name="w" file="widgets.mako"/>
<%def name="title()">Actions</%def>
<h1>Actions</h1>
<p class="muted">What tasks and scripts asked to send (<code>act.webhook(target, payload)</code>, <code>act.publish(target, body)</code>): each is kept until delivered, retried with backoff, signed as Standard Webhooks when its target has a secret.</p>
<form method="get" action="${c.url('actions')}" class="filters" id="actions-filter">
  <label>state <select name="state"><option value="">any</option>
  % for s in states:
    <option value="${s}" ${'selected' if chosen.state == s else ''}>${s}</option>
  % endfor
  </select></label>
  <label>target <input type="text" name="target" value="${chosen.target or ''}" size="12"></label>
  <label>job id <input type="text" name="job_id" value="${chosen.job_id or ''}" size="16"></label>
  <label>run id <input type="text" name="run_id" value="${chosen.run_id or ''}" size="20"></label>
  <label>last (s) <input type="text" name="last" value="${keep.get('last', '')}" size="7"></label>
  <button type="submit">filter</button>
</form>
<table id="actions" data-testid="actions">
<thead><tr><th>queued</th><th>action</th><th>kind</th><th>to</th><th>state</th><th>attempts</th><th>last status</th><th>run</th><th>last error</th></tr></thead>
<tbody>
% for a in found.items:
<% run = (a.get('run_id') or '').split(':') %>
<tr data-action="${a['action_id']}">
  <td>${f.when(a.get('created_at'))}</td>
  <td><a href="${c.url('actions/' + a['action_id'])}" class="mono" data-testid="action-link">${a['action_id'][:16]}&hellip;</a></td>
  <td>${a.get('kind', '')}</td>
  <td>${a.get('target') or a.get('url') or ''}</td>
  <td><span class="badge ${a.get('state', '')}" data-testid="action-state">${a.get('state', '')}</span></td>
  <td>${a.get('attempt_count', 0)}</td>
  <td>${a.get('last_status') if a.get('last_status') is not None else '-'}</td>
  <td>
  % if len(run) == 3:
    <a href="${c.run_url(run[0], run[1])}">${a.get('name') or run[0]} #${run[1]}</a>
  % else:
    <span class="muted">-</span>
  % endif
  </td>
  <td class="clip">${(a.get('last_error') or '')[:160]}</td>
</tr>
% endfor
</tbody>
</table>
${w.pager(found.total, chosen.limit, chosen.offset, found.more, 'actions', keep)}

<h2>Targets</h2>
<table id="targets" data-testid="targets">
<thead><tr><th>name</th><th>kind</th><th>URL</th><th>signed</th><th>from</th><th>headers</th></tr></thead>
<tbody>
% for t in targets:
<tr data-target="${t['name']}">
  <td><a href="${c.url('targets/' + t['name'])}">${t['name']}</a></td><td>${t['kind']}</td><td class="mono">${t['url']}</td>
  <td>${t['secret'] if t.get('signed') else 'no'}</td><td>${'config file' if t['origin'] == 'config' else 'panel'}</td>
  <td class="mono">${f.compact(t.get('headers'))}</td>
</tr>
% endfor
</tbody>
</table>
% if not c.read_only:
% if error:
<p class="flash error" role="alert" id="target-error">${error[0]}</p>
% endif
<form method="post" action="${c.url('targets')}" class="grid" id="add-target" data-testid="add-target">
  <input type="hidden" name="csrf_token" value="${c.csrf}">
  <label class="${'bad' if error and error[1] == 'name' else ''}">name <input type="text" name="name" value="${form.get('name', '')}" required></label>
  <label class="${'bad' if error and error[1] == 'url' else ''}">URL (https://... for webhooks, amqp://... for publishes) <input type="text" name="url" value="${form.get('url', '')}" required></label>
  <label>signing <select name="secret_mode"><option value="generate">generate a whsec_ secret</option><option value="none">unsigned</option><option value="given">use this secret:</option></select></label>
  <label>secret (whsec_...) <input type="text" name="secret" value="" autocomplete="off"></label>
  <label class="${'bad' if error and error[1] == 'headers' else ''}">extra headers (JSON) <input type="text" name="headers" value="${form.get('headers', '')}" placeholder='{"X-Team": "ops"}'></label>
  <label>AMQP exchange <input type="text" name="exchange" value="${form.get('exchange', '')}"></label>
  <label>AMQP routing key <input type="text" name="routing_key" value="${form.get('routing_key', '')}"></label>
  <button type="submit" id="add-target-button">add target</button>
</form>
% endif
