<%inherit file="layout.mako"/>
<%namespace name="w" file="widgets.mako"/>
<%def name="title()">Job ${job['name']}</%def>
<div id="job-head" data-live>
<h1>Job ${job['name']} ${w.state(job['state'])}</h1>
${w.job_actions(job)}
</div>
<div class="columns">
<section>
<h2>Definition</h2>
<dl class="facts" id="job-definition">
  <dt>id</dt><dd class="mono" id="job-id">${job['job_id']}</dd>
  <dt>class</dt><dd>${job['classname']}</dd>
  <% sched = job.get('schedule') or {} %>
  <dt>schedule</dt><dd id="job-schedule" data-testid="job-schedule">${sched.get('description') or f.dur(job.get('interval'))}</dd>
  % if job.get('cron'):
  <dt>cron</dt><dd class="mono" id="job-cron">${job['cron']}</dd>
  <dt>time zone</dt><dd id="job-tz">${job.get('tz') or 'UTC'}</dd>
  % else:
  <dt>interval</dt><dd>${f.dur(job.get('interval'))}
  % for note in sched.get('floor') or []:
    <br><span class="warning" data-testid="job-floor">${note}</span>
  % endfor
  </dd>
  % endif
  <dt>jitter</dt><dd id="job-jitter">${f.dur(job['jitter']) if job.get('jitter') else 'none'}</dd>
  % if sched.get('misfire'):
  <dt>misfire</dt><dd id="job-misfire">${sched['misfire']['misfire']}, grace ${sched['misfire']['misfire_grace'] if sched['misfire']['misfire_grace'] is not None else 'min(period, 1 h)'}${(', at most %s catch-up runs' % sched['misfire']['max_catchup']) if sched['misfire']['misfire'] == 'all' else ''}${'' if job.get('misfire') else ' (server default)'}</dd>
  % endif
  <dt>origin</dt><dd>${job.get('origin', '')}</dd>
  <dt>only once</dt><dd>${'yes' if job.get('only_once') else 'no'}</dd>
  <dt>max runs</dt><dd>${job.get('max_runs') if job.get('max_runs') is not None else '-'}</dd>
  <dt>only before</dt><dd>${f.when(job.get('only_before'))}</dd>
  <dt>timeout</dt><dd>${f.dur(job.get('timeout')) if job.get('timeout') is not None else 'default'}</dd>
  <dt>retries</dt><dd>${job.get('retries') if job.get('retries') is not None else 'default'}</dd>
  <dt>tags</dt><dd id="job-tags">${w.tags(job.get('tags'), 'schedule')}</dd>
  % if job.get('on_stream'):
  <dt>on stream</dt><dd id="job-on-stream"><a href="${c.url('data/streams/' + job['on_stream'])}">${job['on_stream']}</a>: also runs when ${job.get('stream_batch') or 1} new message(s) arrived</dd>
  % endif
  <dt>ancestry</dt><dd id="job-ancestry">
  % if job.get('parent'):
    % for ancestor in (job.get('ancestors') or [{'job_id': a, 'name': None} for a in job['parent']]):
    <a href="${c.job_url(ancestor['job_id'])}" data-testid="parent-link">${ancestor['name'] or '(gone)'} <span class="mono muted">${ancestor['job_id']}</span></a> &rsaquo;
    % endfor
    this job
  % else:
    <span class="muted">none (a top-level job)</span>
  % endif
  </dd>
</dl>
<h3>Arguments</h3>
<pre id="job-kwargs">${f.pretty(job.get('kwargs') or {})}</pre>
</section>
<section>
<h2>State</h2>
<dl class="facts" id="job-state" data-live>
  <dt>state</dt><dd>${job['state']}</dd>
  <dt>due</dt><dd>${f.when(job.get('due_at'))} <span class="muted">${f.rel(job.get('due_at'))}</span> (${job.get('next_trigger', '')})</dd>
  <dt>runs</dt><dd>${job.get('run_count', 0)} scheduled, ${job.get('runs_total', 0)} in all, ${job.get('failures_total', 0)} failed</dd>
  <dt>retries used</dt><dd>${job.get('retries_used', 0)}</dd>
  <dt>last started</dt><dd>${f.when(job.get('last_started_at'))}</dd>
  <dt>last finished</dt><dd>${f.when(job.get('last_finished_at'))}</dd>
  <dt>last outcome</dt><dd>${w.outcome(job.get('last_outcome'))}</dd>
  % if job.get('last_error'):
  <dt>last error</dt><dd><pre class="error" id="job-last-error">${job['last_error']}</pre></dd>
  % endif
  % if job.get('note'):
  <dt>note</dt><dd id="job-note">${job['note']}</dd>
  % endif
  <dt>created</dt><dd>${f.when(job.get('created_at'))}</dd>
</dl>
% if (job.get('schedule') or {}).get('next'):
<h3>Next fire times (${job['schedule'].get('tz') or 'UTC'})</h3>
<ol id="job-next-fires" data-testid="job-next-fires">
  % for fire in job['schedule']['next']:
  <li><span class="mono">${fire['local']}</span> <span class="muted">${f.rel(fire['at'])}</span></li>
  % endfor
</ol>
% endif
</section>
</div>
<h2>Timeline</h2>
<div class="timeline" id="timeline" data-testid="timeline" data-live>${timeline}</div>
<div id="job-children-live" data-live>
<h2>Children (${len(job.get('children') or [])})</h2>
% if job.get('children'):
<table id="job-children" data-testid="job-children">
<thead><tr><th>job</th><th>class</th><th>state</th><th>due</th><th>runs</th></tr></thead>
<tbody>
% for child in job['children']:
<tr><td><a href="${c.job_url(child['job_id'])}" data-testid="child-link">${child['name']}</a></td><td>${child['classname']}</td><td>${w.state(child['state'])}</td><td>${f.when(child.get('due_at'))}</td><td>${child.get('run_count', 0)}</td></tr>
% endfor
</tbody>
</table>
% else:
<p class="muted" id="job-children">No child jobs now.</p>
% endif
</div>
<p><a href="${c.url('results', parent=job['job_id'])}" id="descendant-runs">runs of its descendants</a></p>
<h2>Recent runs</h2>
<div id="job-runs-live" data-live>
${w.runs_table(job.get('recent_runs') or [], id='job-runs')}
</div>
<p><a href="${c.url('results', job_id=job['job_id'])}" id="all-runs">all runs of this job</a></p>
