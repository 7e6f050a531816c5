<%inherit file="layout.mako"/>
<%namespace name="w" file="widgets.mako"/>
<%def name="title()">Overview</%def>
<h1>Overview</h1>
<% agg, ic, act = tiles.get('aggregate'), tiles.get('interact') or {}, tiles.get('act') %>
<section class="tiles" id="tiles" data-testid="tiles" data-live>
  <a class="tile" href="${c.url('data')}" id="tile-aggregate" data-testid="tile-aggregate">
    <h2>Aggregate</h2>
    % if agg:
    <div class="figures">
      <span class="figure"><span class="num" id="tile-objects">${agg.get('objects', 0)}</span><span class="label">data objects</span></span>
      <span class="figure"><span class="num" id="tile-streams">${agg.get('streams', 0)}</span><span class="label">streams</span></span>
      <span class="figure"><span class="num" id="tile-rate">${'%.1f' % (agg.get('messages_per_s') or 0)}</span><span class="label">messages/s</span></span>
    </div>
    % else:
    <div class="figures"><span class="figure"><span class="num">0</span><span class="label">data objects</span></span><span class="figure"><span class="num">0</span><span class="label">streams</span></span><span class="figure"><span class="num">0</span><span class="label">messages/s</span></span></div>
    <p class="muted" id="tile-aggregate-off">not configured on this server</p>
    % endif
  </a>
  <a class="tile" href="${c.url('scripts')}" id="tile-interact" data-testid="tile-interact">
    <h2>Interact &amp; Compute</h2>
    <div class="figures">
      <span class="figure"><span class="num" id="tile-scripts">${'-' if ic.get('scripts') is None else ic['scripts']}</span><span class="label">scripts</span></span>
      <span class="figure"><span class="num" id="tile-jobs">${ic.get('jobs', 0)}</span><span class="label">jobs</span></span>
      <span class="figure"><span class="num" id="tile-running">${ic.get('running', 0)}</span><span class="label">runs in progress</span></span>
      <span class="figure ${'bad' if ic.get('failures') else ''}"><span class="num" id="tile-failures">${ic.get('failures', 0)}</span><span class="label">failures, last hour</span></span>
    </div>
  </a>
  <a class="tile" href="${c.url('actions')}" id="tile-act" data-testid="tile-act">
    <h2>Act</h2>
    % if act is not None:
    <div class="figures">
      <span class="figure"><span class="num" id="tile-pending">${act.get('pending', 0) + act.get('delivering', 0)}</span><span class="label">actions pending</span></span>
      <span class="figure"><span class="num" id="tile-delivered">${act.get('delivered', 0)}</span><span class="label">delivered, last hour</span></span>
      <span class="figure ${'bad' if act.get('failed') else ''}"><span class="num" id="tile-failed">${act.get('failed', 0)}</span><span class="label">failed, last hour</span></span>
    </div>
    % else:
    <p class="muted" id="tile-act-off">not configured on this server</p>
    % endif
  </a>
</section>
<h2>Scheduler</h2>
<section class="cards" id="job-counts" data-testid="job-counts" data-live>
% for name, count in counts.items():
  <a class="card" href="${c.url('schedule')}" data-state="${name}"><span class="num" id="count-${name}">${count}</span><span class="label">${name}</span></a>
% endfor
  <a class="card" href="${c.url('running')}"><span class="num" id="count-running-runs">${running}</span><span class="label">runs in progress</span></a>
  <a class="card" href="${c.url('results', last=3600)}"><span class="num" id="runs-hour">${runs_hour}</span><span class="label">runs, last hour</span></a>
  <a class="card ${'bad' if failures_hour else ''}" href="${c.url('results', last=3600, outcome='failed')}"><span class="num" id="failures-hour">${failures_hour}</span><span class="label">failures, last hour</span></a>
</section>

<h2>Workers</h2>
<table id="workers" data-testid="workers" data-live>
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

<h2>Timeline</h2>
<div class="timeline" id="timeline" data-testid="timeline" data-live>${timeline}</div>
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
<div id="last-failures-live" data-live>
% if failures:
${w.runs_table(failures, id='last-failures')}
% else:
<p class="muted" id="last-failures">No failed, crashed or timed-out runs in the store.</p>
% endif
</div>
