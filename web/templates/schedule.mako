<%inherit file="layout.mako"/>
<%namespace name="w" file="widgets.mako"/>
<%def name="title()">Schedule</%def>
<h1>Schedule</h1>
<form method="get" action="${c.url('schedule')}" class="filters" id="schedule-filter">
  <label>due within (s) <input type="number" name="due_within" id="due-within" data-testid="due-within" min="0" step="any" value="${'' if due_within is None else ('%g' % due_within)}" size="6"></label>
  <label>state <select name="state" id="filter-state" data-testid="filter-state">
    <option value="">any</option>
  % for st in states:
    <option value="${st}" ${'selected' if st == state_filter else ''}>${st}</option>
  % endfor
  </select></label>
  <label>tag <input type="text" name="tag" id="filter-tag" data-testid="filter-tag" value="${tag}" size="12"></label>
  <button type="submit" id="schedule-filter-submit">filter</button>
  % if keep:
  <a href="${c.url('schedule')}">all jobs</a>
  % endif
</form>
<p class="muted">Soonest due first. "Run now" adds one run as soon as a worker is free and leaves the schedule as it is; a removed job that is running finishes its run and is not rescheduled.</p>
${w.pager(total, limit, offset, more, 'schedule', keep)}
<table id="schedule" data-testid="schedule">
<thead><tr><th>due</th><th>job</th><th>class</th><th>state</th><th>last outcome</th><th>runs</th><th>retries</th><th>actions</th></tr></thead>
<tbody>
% for job in jobs:
<tr data-job-id="${job['job_id']}" data-testid="job-row">
  <td>${f.when(job.get('due_at'))}<br><span class="muted">${f.rel(job.get('due_at'))}</span></td>
  <td><a href="${c.job_url(job['job_id'])}" data-testid="job-link">${job['name']}</a> ${w.tags(job.get('tags'), 'schedule')}<br><span class="muted mono">${job['job_id']}</span></td>
  <td>${job['classname']}</td>
  <td>${w.state(job['state'])}
  % if job.get('run_id'):
    <br><a href="${c.url('running')}" class="muted">${job['run_id']}</a>
  % endif
  </td>
  <td>${w.outcome(job.get('last_outcome'))}</td>
  <td>${job.get('run_count', 0)}${'' if job.get('max_runs') is None else ' / %s' % job['max_runs']}</td>
  <td>${job.get('retries_used', 0)}${'' if job.get('retries') is None else ' / %s' % job['retries']}</td>
  <td>${w.job_actions(job)}</td>
</tr>
% endfor
</tbody>
</table>
