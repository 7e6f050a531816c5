## The Hotspot report (reports/das.py). Every value is escaped; charts are SVG built by reports.charts.
<%inherit file="report.mako"/>
<% fig = data['figures'] %>
<section id="report-hotspot" data-identifier="${data['identifier']}">
% if not data['configured']:
<p class="muted" id="hotspot-not-configured">${data['message']}</p>
% endif
<h2 id="hotspot-tasks-heading">Hotspot tasks that ran in the last 30 days</h2>
% if data['tasks']:
<table id="hotspot-tasks" data-testid="hotspot-tasks">
<thead><tr><th>identifier</th><th>class</th><th>job</th><th>mode</th><th>fraction</th><th>period</th><th>last run</th></tr></thead>
<tbody>
% for t in data['tasks']:
<tr data-identifier="${t['identifier']}" class="${'chosen' if t['identifier'] == data['identifier'] else ''}">
  <td><a href="${c.url('reports/hotspot', identifier=t['identifier'])}">${t['identifier']}</a></td>
  <td>${t['classname']}</td>
  <td>${t['name'] or '-'}</td>
  <td>${t['mode'] or '-'}</td>
  <td>${t['fraction'] if t['fraction'] is not None else '-'}</td>
  <td>${f.dur(t['period'])}</td>
  <td>${f.when(t['last_run'])}</td>
</tr>
% endfor
</tbody>
</table>
% else:
<p class="muted" id="hotspot-no-tasks">No ValueHotspot or KeyHotspot ran in the last 30 days (see <code>examples/das_pipeline.py</code>).</p>
% endif

% if fig is not None:
<h2 id="hotspot-heading">${fig['identifier']}: ${fig['ncalls']} calls over ${fig['nkeys']} items, last ${f.dur(fig['now'] - fig['start'])}</h2>
<div class="cards" id="hotspot-counts" data-testid="hotspot-counts">
  <div class="card"><span class="num" id="hotspot-ncalls">${fig['ncalls']}</span><span class="label">calls</span></div>
  <div class="card"><span class="num" id="hotspot-nkeys">${fig['nkeys']}</span><span class="label">distinct items</span></div>
  <div class="card"><span class="num" id="hotspot-nsummaries">${fig['nsummaries']}</span><span class="label">summaries</span></div>
  <div class="card"><span class="num" id="hotspot-nselected">${len(fig['selected'])}</span><span class="label">selected (${fig['mode']}, ${fig['fraction']})</span></div>
  <div class="card ${'bad' if fig['gaps'] else ''}"><span class="num" id="hotspot-ngaps">${len(fig['gaps'])}</span><span class="label">gaps in the coverage</span></div>
</div>
<figure id="figure-keys">${charts.render(fig['charts']['keys'], 'chart-keys')}</figure>
<figure id="figure-coverage">${charts.render(fig['charts']['coverage'], 'chart-coverage')}</figure>
<figure id="figure-time">${charts.render(fig['charts']['time'], 'chart-time')}</figure>
% if fig['gaps']:
<h2 id="hotspot-gaps-heading">Gaps (time no summary covers: its calls are not counted)</h2>
<table id="hotspot-gaps">
<thead><tr><th>from</th><th>to</th><th>length</th><th></th></tr></thead>
<tbody>
% for g in fig['gaps']:
<tr><td>${f.when(g['start'])}</td><td>${f.when(g['finish'])}</td><td>${f.dur(g['seconds'])}</td><td class="muted">${'since the last run (the next run summarises it)' if g['trailing'] else ''}</td></tr>
% endfor
</tbody>
</table>
% endif
<h2 id="hotspot-items-heading">Items by calls (selected: ${len(fig['selected'])}, ${fig['selected_calls']} calls)</h2>
<table id="hotspot-items" data-testid="hotspot-items">
<thead><tr><th>rank</th><th>item</th><th>calls</th><th>share</th><th>cumulative</th><th>selected</th></tr></thead>
<tbody>
% for r in fig['rows']:
<tr data-rank="${r['rank']}" class="${'chosen' if r['selected'] else ''}">
  <td>${r['rank']}</td>
  <td class="clip">${r['item']}</td>
  <td>${r['calls']}</td>
  <td>${'%.1f%%' % r['share_pct']}</td>
  <td>${'%.1f%%' % r['cumulative_pct']}</td>
  <td>${'yes' if r['selected'] else ''}</td>
</tr>
% endfor
</tbody>
</table>
% if fig['rows_capped']:
<p class="muted">Only the ${len(fig['rows'])} most popular items are listed.</p>
% endif
% endif
</section>
