<%inherit file="layout.mako"/>
<%namespace name="w" file="widgets.mako"/>
<%namespace name="o" file="outputs.mako"/>
<%def name="title()">Run ${run.get('index')} of ${run.get('name', '')}</%def>
<%
  start, due = run.get('started_at'), run.get('due_at')
  late = (start - due) if isinstance(start, (int, float)) and isinstance(due, (int, float)) else None
%>
<% one_off = run.get('trigger') == 'one-off' %>
<h1>Run ${run.get('index')}${' attempt %s' % run['attempt'] if run.get('attempt') else ''} of <a href="${c.url('scripts/' + run.get('name', '')) if one_off else c.job_url(run.get('job_id', ''))}" id="run-job-link">${run.get('name', '')}</a> ${w.outcome(run.get('outcome'))}</h1>
% if len(attempts) > 1:
<p id="attempts">attempts:
% for a in attempts:
  <a href="${c.run_url(run.get('job_id', ''), run.get('index'), a)}" class="${'active' if a == run.get('attempt') else ''}" data-testid="attempt-link">${a}</a>
% endfor
</p>
% endif
<dl class="facts" id="run-facts">
  % if one_off:
  <dt>job</dt><dd><span class="mono">${run.get('job_id', '')}</span> (${run.get('classname', '')}; a one-off run has no job)</dd>
  % else:
  <dt>job</dt><dd><a href="${c.job_url(run.get('job_id', ''))}" class="mono">${run.get('job_id', '')}</a> (${run.get('classname', '')})</dd>
  % endif
  <dt>trigger</dt><dd>${run.get('trigger', '-')}</dd>
  % if run.get('classname') == 'Script':
  <dt>script</dt><dd><a href="${c.url('scripts/' + run.get('name', ''))}" id="run-script-link">${run.get('name', '')}</a></dd>
  % endif
  % if run.get('params'):
  <dt>parameters</dt><dd class="mono" id="run-params">${f.compact(run['params'], 500)}</dd>
  % endif
  <dt>due</dt><dd>${f.when(due)}</dd>
  <dt>started</dt><dd>${f.when(start)}${'' if late is None else ' (%s late)' % f.dur(late)}</dd>
  <dt>finished</dt><dd>${f.when(run.get('finished_at'))}</dd>
  <dt>duration</dt><dd id="run-duration">${f.dur(run.get('duration'))}</dd>
  <dt>worker</dt><dd>${run.get('worker') if run.get('worker') is not None else '-'} (pid ${run.get('pid') or '-'})</dd>
  % if run.get('parent'):
  <dt>ancestry</dt><dd>
    % for ancestor in run['parent']:
    <a href="${c.job_url(ancestor)}" class="mono">${ancestor}</a> &rsaquo;
    % endfor
    this job</dd>
  % endif
</dl>
% if run.get('error'):
<h2>Error</h2>
<pre class="error" id="run-error" data-testid="run-error">${run['error']}</pre>
% endif
% if run.get('traceback'):
<details open><summary>Traceback</summary><pre id="run-traceback" data-testid="run-traceback">${run['traceback']}</pre></details>
% endif
% if run.get('notes') or run.get('child_errors'):
<h2>Notes</h2>
<ul id="run-notes">
% for note in (run.get('notes') or []) + (run.get('child_errors') or []):
  <li>${note}</li>
% endfor
</ul>
% endif
<% result = run.get('result') %>
% if isinstance(result, dict) and isinstance(result.get('outputs'), list):
<h2>Output</h2>
${o.show(run, [item for item in result['outputs'] if isinstance(item, dict)])}
<% result = {k: v for k, v in result.items() if k != 'outputs'} %>
% endif
<h2>Result</h2>
<pre id="run-result" data-testid="run-result">${f.pretty(result)}</pre>
<h2>Log lines (${len(run.get('logs') or [])})</h2>
<table id="run-logs" data-testid="run-logs">
<thead><tr><th>time</th><th>level</th><th>logger</th><th>message</th></tr></thead>
<tbody>
% for line in run.get('logs') or []:
<tr class="level-${f.level(line).lower()}"><td>${f.when(line.get('time'))}</td><td>${f.level(line)}</td><td>${line.get('logger', '')}</td><td class="msg">${line.get('msg', '')}</td></tr>
% endfor
</tbody>
</table>
