## The DAS Query report (reports/das.py). Every value is escaped; charts are SVG built by reports.charts.
<%inherit file="report.mako"/>
<% fig = data['figures'] %>
<section id="report-query">
% if not data['configured']:
<p class="muted" id="query-not-configured">${data['message']}</p>
% endif
% if not data['analyzer_exists']:
<p class="muted" id="query-no-analyzer">No QueryAnalyzer job has run: add one (<code>Task("query-analyzer", "QueryAnalyzer", 3600)</code>) to fill this report.</p>
% endif
% if fig is not None:
<h2 id="query-heading">${fig['nqueries']} calls${' with ' + fig['key'] if fig['key'] else ''} in the last ${f.dur(fig['now'] - fig['start'])}</h2>
<div class="cards" id="query-counts" data-testid="query-counts">
  <div class="card"><span class="num" id="query-nqueries">${fig['nqueries']}</span><span class="label">calls</span></div>
  <div class="card"><span class="num" id="query-nsummaries">${fig['nsummaries']}</span><span class="label">summaries</span></div>
  <div class="card"><span class="num" id="query-popular-key">${fig['popular_key'] or '-'}</span><span class="label">most used key</span></div>
  <div class="card"><span class="num" id="query-nkeys">${len(fig['seen_keys'])}</span><span class="label">keys seen</span></div>
</div>
% if fig['seen_keys']:
<p id="query-keys">Restrict to one key:
% for k in fig['seen_keys']:
  <a href="${c.url('reports/query', key=k)}">${k}</a>
% endfor
% if fig['key']:
  &middot; <a href="${c.url('reports/query')}">all keys</a>
% endif
</p>
% endif
<figure id="figure-by-key">${charts.render(fig['charts']['by_key'], 'chart-by-key')}</figure>
<figure id="figure-constraints">${charts.render(fig['charts']['constraints'], 'chart-constraints')}</figure>
<figure id="figure-fields">${charts.render(fig['charts']['fields'], 'chart-fields')}</figure>
<figure id="figure-instances">${charts.render(fig['charts']['instances'], 'chart-instances')}</figure>
<figure id="figure-key-sets">${charts.render(fig['charts']['key_sets'], 'chart-key-sets')}</figure>
<figure id="figure-over-time">${charts.render(fig['charts']['over_time'], 'chart-over-time')}</figure>
<h2 id="query-constraints-heading">Constraint types by key</h2>
<table id="query-constraints" data-testid="query-constraints">
<thead><tr><th>key</th><th>calls</th><th>value types</th><th>fields</th></tr></thead>
<tbody>
% for k, n in fig['by_key'].items():
<tr data-key="${k}">
  <td>${k}</td>
  <td>${n}</td>
  <td>${', '.join('%s %d' % (t, m) for t, m in fig['constraints'].get(k, {}).items())}</td>
  <td>${', '.join('%s %d' % (t, m) for t, m in fig['fields'].get(k, {}).items())}</td>
</tr>
% endfor
</tbody>
</table>
% if fig['gaps']:
<p class="muted" id="query-gaps">${len(fig['gaps'])} part(s) of the window have no summary yet (${f.dur(sum(g['seconds'] for g in fig['gaps']))} in all): their calls are not counted.</p>
% endif
% endif
</section>
