<%inherit file="layout.mako"/>
<%def name="title()">Action ${action['action_id']}</%def>
<% run = (action.get('run_id') or '').split(':') %>
<h1>Action <span class="mono">${action['action_id']}</span> <span class="badge ${action.get('state', '')}" id="action-state" data-testid="action-state">${action.get('state', '')}</span></h1>
<dl class="facts" id="action-facts">
  <dt>kind</dt><dd>${action.get('kind', '')}</dd>
  <dt>to</dt><dd>
  % if action.get('target'):
    <a href="${c.url('targets/' + action['target'])}">${action['target']}</a>
  % else:
    <span class="mono">${action.get('url', '')}</span>
  % endif
  ${' (routing key %s)' % action['routing_key'] if action.get('routing_key') else ''}</dd>
  <dt>queued by</dt><dd>
  % if len(run) == 3:
    <a href="${c.run_url(run[0], run[1])}">${action.get('name') or run[0]} run ${run[1]}</a>
  % else:
    <span class="muted">no run</span>
  % endif
  </dd>
  <dt>queued</dt><dd>${f.when(action.get('created_at'))}</dd>
  <dt>next attempt</dt><dd>${f.when(action.get('next_at')) if action.get('state') == 'pending' else '-'}</dd>
  <dt>finished</dt><dd>${f.when(action.get('finished_at'))}</dd>
  <dt>content type</dt><dd>${action.get('content_type', '')}</dd>
</dl>
% if not c.read_only and action.get('state') in ('failed', 'pending'):
<form method="post" action="${c.url('actions/' + action['action_id'] + '/retry')}" class="inline"><input type="hidden" name="csrf_token" value="${c.csrf}"><button type="submit" id="retry-action" data-testid="retry-action">try again now</button></form>
% endif
<h2>Attempts (${action.get('attempt_count', 0)})</h2>
<table id="attempts" data-testid="attempts">
<thead><tr><th>#</th><th>at</th><th>status</th><th>seconds</th><th>error</th><th>answer</th></tr></thead>
<tbody>
% for a in action.get('attempts') or []:
<tr><td>${a.get('n')}</td><td>${f.when(a.get('at'))}</td><td>${a.get('status') if a.get('status') is not None else '-'}</td><td>${f.dur(a.get('duration_s'))}</td><td class="clip">${a.get('error') or ''}</td><td class="msg">${a.get('response') or ''}</td></tr>
% endfor
</tbody>
</table>
<h2>Body (${action.get('body_size', 0)} characters${', cut' if action.get('body_truncated') else ''}${', base64' if action.get('body_encoding') == 'base64' else ''})</h2>
<pre id="action-body" data-testid="action-body">${action.get('body', '')}</pre>
