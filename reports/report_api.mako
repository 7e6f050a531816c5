## The APIs report (reports/das.py). Every value is escaped; charts are SVG built by reports.charts.
<%inherit file="report.mako"/>
<% fig = data['figures'] %>
<section id="report-api">
% if not data['configured']:
<p class="muted" id="api-not-configured">${data['message']}</p>
% endif
% if fig is not None:
<h2 id="api-heading">${fig['calls']} upstream calls, ${fig['failures']} failed, in the last ${f.dur(fig['now'] - fig['start'])}</h2>
<figure id="figure-api">${charts.render(fig['charts']['api'], 'chart-api')}</figure>
<figure id="figure-api-time">${charts.render(fig['charts']['over_time'], 'chart-api-time')}</figure>
<table id="api-calls" data-testid="api-calls">
<thead><tr><th>system</th><th>API</th><th>calls</th><th>failures</th><th>records</th><th>mean latency</th></tr></thead>
<tbody>
% for r in fig['rows']:
<tr data-system="${r['system']}" data-api="${r['api']}">
  <td>${r['system']}</td>
  <td>${r['api']}</td>
  <td data-field="calls">${r['calls']}</td>
  <td data-field="failures">${r['failures']}</td>
  <td data-field="records">${r['records']}</td>
  <td data-field="latency">${stats.seconds_text(r['mean_latency_s'])}</td>
</tr>
% endfor
</tbody>
</table>
% if not fig['rows']:
<p class="muted" id="api-none">No upstream call in the period.</p>
% endif
% endif
</section>
