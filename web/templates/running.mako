<%inherit file="layout.mako"/>
<%namespace name="w" file="widgets.mako"/>
<%def name="title()">Running</%def>
<h1>Running</h1>
<div id="running-live" data-live>
% if not runs:
<p class="muted" id="nothing-running">Nothing is running.</p>
% endif
<table id="running" data-testid="running">
<thead><tr><th>started</th><th>elapsed</th><th>job</th><th>run</th><th>trigger</th><th>worker</th><th>pid</th><th></th></tr></thead>
<tbody>
% for r in runs:
<tr data-run-id="${r['run_id']}" data-testid="running-row">
  <td>${w.reltime(r.get('started_at'), 'started')}</td>
  <td>${f.dur(r.get('elapsed_s'))}</td>
  <td><a href="${c.job_url(r['job_id'])}">${r.get('name', '')}</a></td>
  <td>${r.get('index')}${' attempt %s' % r['attempt'] if r.get('attempt') else ''}</td>
  <td>${r.get('trigger', '')}</td>
  <td>${r.get('slot')}</td>
  <td>${r.get('pid') or '-'}</td>
  <td>
  % if not c.read_only:
    <form method="post" action="${c.url('running/' + r['run_id'] + '/cancel')}" class="inline" data-confirm="Cancel ${r['run_id']}?">${w.hidden()}<button type="submit" class="danger" id="cancel-${r['run_id']}" data-testid="cancel">cancel</button></form>
  % endif
  </td>
</tr>
% endfor
</tbody>
</table>
</div>
