## The Scheduler report (reports/scheduler.py). Every value is escaped; charts are SVG built by reports.charts.
<%inherit file="report.mako"/>
<% chosen = data['chosen'] %>
<section id="report-scheduler" data-window="${data['window']}">
<h2 id="scheduler-windows-heading">Runs finished in the last 10 min, 1 h, 6 h and 24 h</h2>
<table id="scheduler-windows" data-testid="scheduler-windows">
<thead><tr><th>window</th><th>runs</th><th>successes</th><th>failures</th><th>failures by outcome</th><th>busy time</th><th title="busy time / window: the average number of busy workers">load</th><th>distinct jobs</th><th>lateness p50</th><th>p90</th><th>p99</th><th>max</th></tr></thead>
<tbody>
% for row in data['windows']:
<% late = row['lateness_s'] %>
<tr id="window-${row['key']}" data-window="${row['key']}" class="${'chosen' if row['key'] == data['window'] else ''}">
  <td><a href="${c.url('reports/scheduler', window=row['key'])}" id="window-link-${row['key']}">${row['label']}</a>${' (charts)' if row['key'] == data['window'] else ''}</td>
  <td data-field="runs">${row['runs']}</td>
  <td data-field="successes">${row['successes']}</td>
  <td data-field="failures">${row['failures']}</td>
  <td data-field="by-outcome">
  % for outcome, count in row['by_outcome'].items():
    % if outcome != 'success' and count:
    <span class="badge ${outcome}">${outcome} ${count}</span>
    % endif
  % endfor
  % if not row['failures']:
    <span class="muted">none</span>
  % endif
  </td>
  <td data-field="busy">${stats.seconds_text(row['busy_s'])}</td>
  <td data-field="load">${'%.3f' % row['load']}</td>
  <td data-field="distinct-jobs">${row['distinct_jobs']}</td>
  <td data-field="p50">${stats.seconds_text(late['p50'])}</td>
  <td data-field="p90">${stats.seconds_text(late['p90'])}</td>
  <td data-field="p99">${stats.seconds_text(late['p99'])}</td>
  <td data-field="max">${stats.seconds_text(late['max'])}</td>
</tr>
% endfor
</tbody>
</table>
<p class="muted" id="scheduler-notes">Load = busy time / window, i.e. the average number of busy workers (a run that started before the window counts only its part inside it). Lateness = start &minus; due time, over the runs that finished in the window (nearest-rank percentiles). Runs still in progress are counted once they finish.</p>

<h2 id="scheduler-chart-heading">Last ${chosen['label']}: ${chosen['runs']} runs, ${chosen['failures']} failed, load ${'%.2f' % chosen['load']}</h2>
<figure id="figure-runs">${charts.render(data['charts']['runs'], 'chart-runs')}</figure>
<figure id="figure-lateness">${charts.render(data['charts']['lateness'], 'chart-lateness')}</figure>
<figure id="figure-breakdown">${charts.render(data['charts']['breakdown'], 'chart-breakdown')}</figure>
</section>
