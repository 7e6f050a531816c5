## The Job report (reports/job.py). Every value is escaped; charts are SVG built by reports.charts.
<%inherit file="report.mako"/>
<%namespace name="w" file="widgets.mako"/>
<% job = data['job'] %>
<section id="report-job" data-job-id="${data['job_id']}">
<h2 id="job-heading">${job.get('name') or data['job_id']} <span class="muted">(${job.get('classname') or '?'})</span></h2>
<dl class="facts" id="job-facts" data-testid="job-facts">
  <dt>job</dt><dd><a href="${c.job_url(data['job_id'])}" id="job-page-link">${data['job_id']}</a>${'' if data['scheduled'] else ' (no longer scheduled: only its stored runs are shown)'}</dd>
  <dt>state</dt><dd id="job-state">${job.get('state') or '-'}</dd>
  <dt>interval</dt><dd>${f.dur(job.get('interval'))}</dd>
  <dt>next run</dt><dd>${f.when(job.get('due_at'))}</dd>
  <dt>runs in the period</dt><dd id="job-runs">${data['runs']}${' (the newest %d of %d are shown)' % (data['runs'], data['total_in_period']) if data['capped'] else ''}</dd>
  <dt>outcomes</dt><dd id="job-outcomes">
  % for outcome, count in data['by_outcome'].items():
    % if count:
    <span class="badge ${outcome}" data-outcome="${outcome}">${outcome} ${count}</span>
    % endif
  % endfor
  </dd>
  <dt>duration</dt><dd id="job-duration">p50 ${stats.seconds_text(data['duration_s']['p50'])}, p90 ${stats.seconds_text(data['duration_s']['p90'])}, max ${stats.seconds_text(data['duration_s']['max'])}</dd>
  <dt>lateness</dt><dd id="job-lateness">p50 ${stats.seconds_text(data['lateness_s']['p50'])}, p90 ${stats.seconds_text(data['lateness_s']['p90'])}, max ${stats.seconds_text(data['lateness_s']['max'])}</dd>
</dl>

<figure id="figure-duration">${charts.render(data['charts']['duration'], 'chart-duration')}</figure>
<figure id="figure-lateness">${charts.render(data['charts']['lateness'], 'chart-lateness')}</figure>
<figure id="figure-timeline">${charts.render(data['charts']['timeline'], 'chart-timeline')}</figure>

<h2 id="job-values-heading">Values the task computed</h2>
% if data['value_fields']:
<p class="muted">The numeric fields of each run's result, as the task returned them: the work happened in the task, this report only reads the stored results.</p>
<figure id="figure-values">${charts.render(data['charts']['values'], 'chart-values')}</figure>
% else:
<p class="muted" id="job-no-values">This job's results have no numeric fields to chart. An analytics task that returns its figures (for example <code>{"keys": 1234}</code>) gets them charted here over time.</p>
% endif

<h2 id="job-retries-heading">Retry history (${data['retried_runs']} run${'' if data['retried_runs'] == 1 else 's'} retried)</h2>
% if data['retries']:
<table id="job-retries" data-testid="job-retries">
<thead><tr><th>run</th><th>attempt</th><th>trigger</th><th>outcome</th><th>due</th><th>started</th><th>duration</th><th>error</th></tr></thead>
<tbody>
% for r in data['retries']:
<tr data-index="${r['index']}" data-attempt="${r['attempt']}">
  <td><a href="${c.run_url(data['job_id'], r['index'], r['attempt'])}">${r['index']}</a></td>
  <td>${r['attempt']}</td>
  <td>${r['trigger'] or ''}</td>
  <td>${w.outcome(r['outcome'])}</td>
  <td>${f.when(r['due_at'])}</td>
  <td>${f.when(r['started_at'])}</td>
  <td>${f.dur(r['duration'])}</td>
  <td class="clip">${(r['error'] or '')[:200]}</td>
</tr>
% endfor
</tbody>
</table>
% else:
<p class="muted" id="job-no-retries">No run of this job was retried in the period.</p>
% endif

<h2 id="job-recent-heading">Recent runs</h2>
<table id="job-recent" data-testid="job-recent">
<thead><tr><th>run</th><th>outcome</th><th>started</th><th>duration</th><th>lateness</th><th>worker</th><th>error</th></tr></thead>
<tbody>
% for r in data['recent']:
<tr data-index="${r['index']}">
  <td><a href="${c.run_url(data['job_id'], r['index'], r['attempt'])}">${r['index']}${'.%s' % r['attempt'] if r['attempt'] else ''}</a></td>
  <td>${w.outcome(r['outcome'])}</td>
  <td>${f.when(r['started_at'])}</td>
  <td>${f.dur(r['duration'])}</td>
  <td>${stats.seconds_text(r['started_at'] - r['due_at'] if stats.number(r['started_at']) is not None and stats.number(r['due_at']) is not None else None)}</td>
  <td>${r['worker'] if r['worker'] is not None else '-'}</td>
  <td class="clip">${(r['error'] or '')[:200]}</td>
</tr>
% endfor
</tbody>
</table>
</section>
