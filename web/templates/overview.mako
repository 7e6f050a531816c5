<%inherit file="layout.mako"/>
<%namespace name="w" file="widgets.mako"/>
<%def name="title()">Overview</%def>
<h1>Overview</h1>
<section class="cards" id="job-counts" data-testid="job-counts">
% for name, count in counts.items():
  <a class="card" href="${c.url('schedule')}" data-state="${name}"><span class="num" id="count-${name}">${count}</span><span class="label">${name}</span></a>
% endfor
  <a class="card" href="${c.url('running')}"><span class="num" id="count-running-runs">${running}</span><span class="label">runs in progress</span></a>
  <a class="card" href="${c.url('results', last=3600)}"><span class="num" id="runs-hour">${runs_hour}</span><span class="label">runs, last hour</span></a>
  <a class="card ${'bad' if failures_hour else ''}" href="${c.url('results', last=3600, outcome='failed')}"><span class="num" id="failures-hour">${failures_hour}</span><span class="label">failures, last hour</span></a>
</section>

<h2>Workers</h2>
<table id="workers" data-testid="workers">
<thead><tr><th>slot</th><th>status</th><th>pid</th><th>running</th><th>runs in process</th><th>recent restarts</th></tr></thead>
<tbody>
% for wk in workers:
<% run = wk.get('run') or {} %>
<tr data-slot="${wk.get('slot')}">
  <td>${wk.get('slot')}</td>
  <td><span class="badge worker-${wk.get('status')}">${wk.get('status')}</span></td>
  <td>${wk.get('pid') or '-'}</td>
  <td>
  % if run:
    <a href="${c.job_url(run.get('job_id', ''))}">${run.get('name', '')}</a> run ${run.get('index')}${' attempt %s' % run['attempt'] if run.get('attempt') else ''} (${f.rel(run.get('started_at'))})
  % else:
    <span class="muted">-</span>
  % endif
  </td>
  <td>${wk.get('runs_in_process', '')}</td>
  <td>${wk.get('recent_restarts', '')}</td>
</tr>
% endfor
</tbody>
</table>

<h2>Instances</h2>
<table id="instances" data-testid="instances">
<thead><tr><th>instance</th><th>host</th><th>pid</th><th>role</th><th>term</th><th>lease until</th><th>last heartbeat</th></tr></thead>
<tbody>
% for inst in instances:
<tr data-instance="${inst.get('id')}" data-role="${inst.get('role')}">
  <td>${inst.get('id')}${' (this one)' if inst.get('self') or inst.get('alone') else ''}</td>
  <td>${inst.get('host', '')}</td>
  <td>${inst.get('pid', '')}</td>
  <td><span class="badge role-${inst.get('role')}">${inst.get('role')}</span>${' (alone on its store)' if inst.get('alone') else ''}</td>
  <td>${inst.get('term') if inst.get('term') is not None else '-'}</td>
  <td>${f.rel(inst.get('lease_until')) if inst.get('lease_until') else '-'}</td>
  <td>${f.rel(inst.get('heartbeat')) if inst.get('heartbeat') else '-'}</td>
</tr>
% endfor
</tbody>
</table>

<h2>Last failures</h2>
% if failures:
${w.runs_table(failures, id='last-failures')}
% else:
<p class="muted" id="last-failures">No failed, crashed or timed-out runs in the store.</p>
% endif
