## The frame of every report page: crumbs, title, info, the parameter form, the report's own body.
## A report template starts with <%inherit file="report.mako"/>; it gets c, f, data, charts, stats,
## report (its description), name, values (the parameters as form text) and report_url.
<%inherit file="layout.mako"/>
<%def name="title()">${report['title']} - Reports</%def>
<nav class="crumbs" id="report-crumbs" aria-label="breadcrumbs"><a href="${c.url('reports')}" id="reports-index-link">Reports</a> / ${report['group']} / ${report['title']}</nav>
<h1 id="report-title" data-report="${name}">${report['title']}</h1>
% if report['info']:
<div id="report-info" class="muted">
% for para in report['info'].split('\n\n'):
<p>${para}</p>
% endfor
</div>
% endif
% if report['params']:
<form method="get" action="${report_url}" id="report-form" data-testid="report-form" class="filters">
% for p in report['params']:
  <% pid = 'param-' + p['name'] %>
  <label for="${pid}" title="${p['help']}">${p['name']}${' (required)' if p['required'] else ''}
  % if p['choices']:
    <select name="${p['name']}" id="${pid}" data-testid="${pid}">
    % for choice in p['choices']:
      <option value="${choice}" ${'selected' if str(choice) == values.get(p['name'], '') else ''}>${choice}</option>
    % endfor
    </select>
  % elif p['type'] == 'bool':
    <select name="${p['name']}" id="${pid}" data-testid="${pid}">
      <option value="true" ${'selected' if values.get(p['name']) == 'true' else ''}>yes</option>
      <option value="false" ${'selected' if values.get(p['name']) != 'true' else ''}>no</option>
    </select>
  % else:
    <input type="text" name="${p['name']}" id="${pid}" data-testid="${pid}" value="${values.get(p['name'], '')}" placeholder="${p['help']}" size="${24 if p['type'] == 'str' else 10}" ${'required' if p['required'] else ''}>
  % endif
  </label>
% endfor
  <button type="submit" id="report-submit" data-testid="report-submit">show</button>
</form>
% endif
% if error:
<p class="flash error" role="alert" id="report-error" data-testid="report-error" data-field="${error[1] or ''}">${error[0]}</p>
% endif
<div id="report-body" data-report="${name}" data-testid="report-body">
${next.body()}
</div>
<p class="muted" id="report-footer">
% if data is not None:
Figures as of ${f.when(data.get('now'))} (UTC), read from the stored runs and events.
% endif
<a href="${c.url('api/v1/reports/' + url_name, **values)}" id="report-json" data-testid="report-json">this report as JSON</a></p>
