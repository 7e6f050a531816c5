<%inherit file="layout.mako"/>
<%namespace name="w" file="widgets.mako"/>
<%def name="title()">Schedule</%def>
<h1>Schedule</h1>
<% tab_help = {'active': 'scheduled, waiting, running and paused jobs', 'ended': 'finished, abandoned and quarantined jobs', 'all': 'every job'} %>
<nav class="tabs" id="schedule-tabs" data-testid="schedule-tabs" aria-label="which jobs">
% for name, count in tabs:
  <a href="${c.url('schedule', tab=name, tag=tag or None)}" id="tab-${name}" data-testid="tab-${name}" class="${'active' if name == tab and not state_filter else ''}" title="${tab_help[name]}">${name} <span class="count">${count}</span></a>
% endfor
</nav>
<form method="get" action="${c.url('schedule')}" class="filters" id="schedule-filter">
  <input type="hidden" name="tab" value="${tab}">
  <label>due within (s) <input type="number" name="due_within" id="due-within" data-testid="due-within" min="0" step="any" value="${'' if due_within is None else ('%g' % due_within)}" size="6"></label>
  <label>state <select name="state" id="filter-state" data-testid="filter-state">
    <option value="">any in this tab</option>
  % for st in states:
    <option value="${st}" ${'selected' if st == state_filter else ''}>${st}</option>
  % endfor
  </select></label>
  <label>tag <input type="text" name="tag" id="filter-tag" data-testid="filter-tag" value="${tag}" size="12"></label>
  <button type="submit" id="schedule-filter-submit">filter</button>
  % if keep:
  <a href="${c.url('schedule')}">all active jobs</a>
  % endif
</form>
<p class="muted">Soonest due first; hover a time for the exact one (UTC), a name for the job's id. "Run now" adds one run as soon as a worker is free and leaves the schedule as it is; a removed job that is running finishes its run and is not rescheduled.</p>
<div id="schedule-live" data-live>
${w.pager(total, limit, offset, more, 'schedule', keep)}
<table id="schedule" data-testid="schedule" class="oneline">
<thead><tr><th>due</th><th>job</th><th>class</th><th>state</th><th>last outcome</th><th>runs</th><th>retries</th><th><span class="sr-only">actions</span></th></tr></thead>
<tbody>
% for job in jobs:
<tr data-job-id="${job['job_id']}" data-testid="job-row" data-state="${job['state']}">
  <td class="due">${w.reltime(job.get('due_at'), 'due')}</td>
  <td class="name"><a href="${c.job_url(job['job_id'])}" data-testid="job-link" title="${job['name']} (id ${job['job_id']})">${job['name']}</a> ${w.tags(job.get('tags'), 'schedule')}
  % if job.get('ended_children'):
  <a href="${c.job_url(job['job_id'])}#job-children-live" class="muted folded" data-testid="ended-children" title="children of this job that ended (finished, abandoned or quarantined); listed on its page and in the ended tab">+${job['ended_children']} ended</a>
  % endif
  </td>
  <td class="class" title="${job['classname']}">${job['classname']}</td>
  <td>${w.state(job['state'])}
  % if job.get('run_id'):
    <a href="${c.url('running')}" class="muted" title="run ${job['run_id']} in progress">&#9654;</a>
  % endif
  </td>
  <td>${w.outcome(job.get('last_outcome'))}</td>
  <td>${job.get('run_count', 0)}${'' if job.get('max_runs') is None else ' / %s' % job['max_runs']}</td>
  <td>${job.get('retries_used', 0)}${'' if job.get('retries') is None else ' / %s' % job['retries']}</td>
  <td class="menu-cell">${w.job_actions(job, compact=True)}</td>
</tr>
% endfor
</tbody>
</table>
</div>
