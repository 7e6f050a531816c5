<%inherit file="layout.mako"/>
<%def name="title()">Reports</%def>
<h1>Reports</h1>
% if reports is None:
<p id="reports-placeholder" data-testid="reports-placeholder">Reports come with their own issue: this index lists them once a <code>reports</code> package provides <code>reports.index()</code>.</p>
% elif not reports:
<p id="reports-placeholder" data-testid="reports-placeholder">No reports are defined.</p>
% else:
<ul id="reports" data-testid="reports">
% for r in reports:
  <li><a href="${c.url('reports/' + str(r.get('name', '')))}">${r.get('title') or r.get('name', '')}</a> <span class="muted">${r.get('description', '')}</span></li>
% endfor
</ul>
% endif
