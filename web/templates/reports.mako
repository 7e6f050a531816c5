<%inherit file="layout.mako"/>
<%def name="title()">Reports</%def>
<h1>Reports</h1>
% if not groups:
<p id="reports-placeholder" data-testid="reports-placeholder">No reports are defined.</p>
% endif
% for group, entries in groups:
<section class="report-group" id="report-group-${group.lower().replace(' ', '-')}" data-group="${group}" data-testid="report-group">
<h2>${group}</h2>
<table class="reports">
<thead><tr><th>report</th><th>what it shows</th><th>parameters</th></tr></thead>
<tbody>
% for r in entries:
<tr data-report="${r['name']}">
  <td><a href="${c.url('reports/' + quote(r['name']))}" id="report-link-${r['name']}" data-testid="report-link">${r['title']}</a></td>
  <td>${r['description']}</td>
  <td class="muted">${', '.join(p['name'] + ('' if not p['required'] else ' (required)') for p in r['params']) or '-'}</td>
</tr>
% endfor
</tbody>
</table>
</section>
% endfor
% if errors:
<h2>Reports that could not be loaded</h2>
<ul id="report-errors" data-testid="report-errors">
% for where, why in sorted(errors.items()):
  <li><code>${where}</code>: ${why}</li>
% endfor
</ul>
% endif
<p class="muted" id="reports-help">Each report reads the stored runs and events of a bounded window; every report is also available as JSON from <a href="${c.url('api/v1/reports')}" id="reports-api-link">api/v1/reports</a>. Reports come from the <code>reports</code> package, the <code>das_actors.reports</code> entry points, or a dotted path <code>/reports/package.module:Class</code>.</p>
