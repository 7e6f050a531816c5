## The Test report (reports/test.py). Every value is escaped; charts are SVG built by reports.charts.
<%inherit file="report.mako"/>
<section id="report-test">
<div class="cards" id="test-counts" data-testid="test-counts">
  <div class="card"><span class="num" id="test-runs">${data['runs']}</span><span class="label">Test runs</span></div>
  <div class="card"><span class="num" id="test-successes">${data['successes']}</span><span class="label">succeeded</span></div>
  <div class="card ${'bad' if data['failures'] else ''}"><span class="num" id="test-failures">${data['failures']}</span><span class="label">failed (raised on purpose, crashed...)</span></div>
  <div class="card"><span class="num" id="test-spawned">${data['spawned']}</span><span class="label">child jobs spawned</span></div>
  <div class="card"><span class="num" id="test-child-runs">${data['child_runs']}</span><span class="label">runs of spawned jobs</span></div>
  <div class="card"><span class="num" id="test-stops">${data['stops']}</span><span class="label">runs that stopped their job</span></div>
</div>
<figure id="figure-outcomes">${charts.render(data['charts']['outcomes'], 'chart-outcomes')}</figure>
<figure id="figure-tree">${charts.render(data['charts']['tree'], 'chart-tree')}</figure>
<h2 id="test-jobs-heading">Test jobs</h2>
% if data['jobs']:
<table id="test-jobs" data-testid="test-jobs">
<thead><tr><th>job</th><th>spawned by</th><th>runs</th><th>outcomes</th><th>children spawned</th><th>stopped</th></tr></thead>
<tbody>
% for j in data['jobs']:
<tr data-job-id="${j['job_id']}">
  <td><a href="${c.url('reports/job', job_id=j['job_id'])}">${j['name']}</a></td>
  <td>${j['parent_name'] or (j['parent'] or '-')}</td>
  <td>${j['runs']}</td>
  <td>
  % for outcome, count in j['by_outcome'].items():
    % if count:
    <span class="badge ${outcome}">${outcome} ${count}</span>
    % endif
  % endfor
  </td>
  <td>${j['spawned']}</td>
  <td>${j['stops']}</td>
</tr>
% endfor
</tbody>
</table>
% else:
<p class="muted" id="test-no-jobs">No Test job ran in the period. The demo config (<code>make run</code>) has two.</p>
% endif
</section>
