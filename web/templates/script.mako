<%inherit file="layout.mako"/>
<%namespace name="w" file="widgets.mako"/>
<%def name="title()">${name}</%def>
<%
  meta = (info or {}).get('script') or {}
  ver = (info or {}).get('version') or {}
  latest = meta.get('latest')
  base_version = form.get('base_version') or (ver.get('version') if viewing is None else latest) or ''
  job = (info or {}).get('job')
  schedule = meta.get('schedule') or {}
%>
<script src="${c.url('static/editor.js')}" defer></script>
<script src="${c.url('static/scripts.js')}" defer></script>
<h1>Script ${name}
% if info:
  <span class="muted" id="script-version" data-testid="script-version">v${ver.get('version')}${'' if ver.get('version') == latest else ' (newest: v%s)' % latest}</span>
% else:
  <span class="muted" id="script-version" data-testid="script-version">new, not saved yet</span>
% endif
</h1>
% if error:
<p class="flash error" role="alert" id="script-error" data-testid="script-error">${error[0]}
% if info and latest and 'saved as version' in error[0]:
  <a href="${c.url('scripts/' + name + '/diff', to=latest)}">compare the versions</a>
% endif
</p>
% endif
% if info and info.get('syntax_error'):
<p class="flash error" id="syntax-error" data-testid="syntax-error">This version does not parse: ${info['syntax_error']}</p>
% endif
% if viewing is not None and viewing != latest:
<p class="flash" id="old-version">You are looking at version ${viewing}; saving makes your text version ${(latest or 0) + 1}. <a href="${c.url('scripts/' + name)}">open the newest</a></p>
% endif

<form method="post" action="${c.url('scripts/' + name + '/save')}" enctype="multipart/form-data" id="script-form" data-testid="script-form" class="script-form">
  <input type="hidden" name="csrf_token" value="${c.csrf}">
  <input type="hidden" name="base_version" value="${base_version}">
  <textarea name="source" id="script-source" data-testid="script-source" data-editor="python" data-csp-nonce="${nonce}" rows="22" spellcheck="false" ${'readonly' if c.read_only else ''}>${source}</textarea>
  <div class="script-fields">
    <label>arguments (JSON) <input type="text" name="args" id="script-args" data-testid="script-args" value="${form.get('args', '')}" placeholder='{"n": 12}' size="28"></label>
    <label>note <input type="text" name="note" id="script-note" value="${form.get('note', '')}" placeholder="what changed" size="24" maxlength="200"></label>
    <label>tags <input type="text" name="tags" id="script-tags" value="${form.get('tags', ','.join(meta.get('tags') or []))}" placeholder="comma, separated" size="20"></label>
  </div>
  % if c.read_only:
  <p class="muted">Read-only: the script is shown, not saved, run or scheduled.</p>
  % else:
  <div class="actions script-buttons">
    <button type="submit" id="save-script" data-testid="save-script" class="primary">save</button>
    <button type="submit" formaction="${c.url('scripts/' + name + '/run')}" id="run-script" data-testid="run-script" title="run the text in the editor once now, before the waiting line, and follow it here">run now</button>
    <button type="submit" formaction="${c.url('scripts/' + name + '/background')}" id="background-script" data-testid="background-script" title="run the text in the editor once, without following it (see Results)">run in background</button>
    <span class="schedule-fields">
      <label>every <input type="text" name="interval" id="script-interval" data-testid="script-interval" value="${form.get('interval', schedule.get('interval') or '')}" placeholder="60, 10m, 1h" size="7"></label>
      <label>first run <input type="text" name="when" id="script-when" value="${form.get('when', '')}" placeholder="now, +5m, 14:30" size="9"></label>
      <button type="submit" formaction="${c.url('scripts/' + name + '/schedule')}" id="schedule-script" data-testid="schedule-script" title="save (if changed) and run the newest version on a schedule">schedule</button>
    </span>
  </div>
  % endif
</form>

<section id="live-run" data-testid="live-run" class="live-run" ${'' if run else 'hidden'}
  data-stream-url="${(run or {}).get('tail_url', '')}" data-output-url="${(run or {}).get('output_url', '')}"
  data-run-url="${(run or {}).get('run_url', '')}">
  <h2>Run <span id="live-run-id" class="mono">${(run or {}).get('run_id', '')}</span> <span id="live-run-status" data-testid="live-run-status" class="badge">${'queued' if run else ''}</span></h2>
  <p class="muted"><a id="live-run-link" href="${(run or {}).get('run_url', '')}">the run's page</a> (log lines, result and output are kept there)</p>
  <pre id="live-run-lines" data-testid="live-run-lines" class="live-lines"></pre>
  <div id="live-run-output" data-testid="live-run-output"></div>
</section>

% if info and info.get('options'):
<h2>Arguments it declares</h2>
<table id="script-options"><thead><tr><th>name</th><th>type</th><th>default</th><th>help</th></tr></thead><tbody>
% for o in info['options']:
<tr><td class="mono">${o['name']}</td><td>${o['type']}</td><td class="mono">${'(required)' if o.get('required') else f.compact(o.get('default'))}</td><td>${o.get('help', '')}</td></tr>
% endfor
</tbody></table>
% elif info and info.get('options_error'):
<p class="flash error">task_options: ${info['options_error']}</p>
% endif

% if info:
<div class="columns">
<section>
<h2>Schedule</h2>
% if job:
<p id="script-job" data-testid="script-job">Job <a href="${c.job_url(job['job_id'])}" class="mono">${job['job_id']}</a> runs version ${schedule.get('version')} every ${f.dur(job.get('interval'), precise=False)}: ${w.state(job.get('state'))}, next ${f.when(job.get('due_at'))}.
% if schedule.get('version') != latest:
<strong>The newest version is ${latest}: schedule again to run it.</strong>
% endif
</p>
% if not c.read_only:
<form method="post" action="${c.url('scripts/' + name + '/unschedule')}" class="inline" data-confirm="Stop running ${name} on a schedule?"><input type="hidden" name="csrf_token" value="${c.csrf}"><button type="submit" id="unschedule-script" class="danger">unschedule</button></form>
% endif
% else:
<p class="muted" id="script-job">Not scheduled. Give an interval above and press schedule.</p>
% endif
<h2>Trigger it from elsewhere</h2>
<pre class="mono" id="script-trigger-example">curl -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
  -H 'Idempotency-Key: 2024-06-01-a' -d '{"params": {"n": 12}}' \
  ${c.base}api/v1/scripts/${name}/runs</pre>
</section>
<section>
<h2>Versions</h2>
<form method="get" action="${c.url('scripts/' + name + '/diff')}" class="filters" id="diff-form">
  <label>from <input type="number" name="from" min="1" max="${latest}" value="${max((latest or 1) - 1, 1)}" size="4"></label>
  <label>to <input type="number" name="to" min="1" max="${latest}" value="${latest}" size="4"></label>
  <button type="submit" id="diff-button" data-testid="diff-button">compare</button>
</form>
<table id="script-versions" data-testid="script-versions">
<thead><tr><th>version</th><th>saved</th><th>size</th><th>note</th><th></th></tr></thead>
<tbody>
% for v in versions:
<tr><td><a href="${c.url('scripts/' + name, version=v['version'])}">v${v['version']}</a></td><td>${f.when(v.get('saved_at'))}</td><td>${v.get('size')} B</td><td>${v.get('note', '')}</td>
<td>
% if v['version'] > 1:
<a href="${c.url('scripts/' + name + '/diff', **{'from': v['version'] - 1, 'to': v['version']})}">diff</a>
% endif
</td></tr>
% endfor
</tbody>
</table>
<p><a href="${c.url('results', name=name)}" id="script-runs">its runs in Results</a></p>
% if not c.read_only:
<form method="post" action="${c.url('scripts/' + name + '/delete')}" data-confirm="Delete script ${name} and every version of it?" class="inline"><input type="hidden" name="csrf_token" value="${c.csrf}"><button type="submit" class="danger" id="delete-script" data-testid="delete-script">delete the script</button></form>
% endif
</section>
</div>
% endif
