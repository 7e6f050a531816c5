## The outcome and outputs of one run, fetched by the script page's live panel (no layout).
<%namespace name="w" file="widgets.mako"/>
<%namespace name="o" file="outputs.mako"/>
<div class="run-output" data-testid="run-output" data-outcome="${run.get('outcome', '')}">
<p>${w.outcome(run.get('outcome'))} in ${f.dur(run.get('duration'))} &middot; <a href="${c.run_url(run.get('job_id', ''), run.get('index'))}" data-testid="run-link">the run's page</a></p>
% if run.get('error'):
<pre class="error" data-testid="run-error">${run['error']}</pre>
% endif
${o.show(run, outputs)}
<% shown = {k: v for k, v in (run.get('result') or {}).items() if k != 'outputs'} if isinstance(run.get('result'), dict) else run.get('result') %>
% if shown:
<details open><summary>Result</summary><pre data-testid="run-result">${f.pretty(shown)}</pre></details>
% endif
</div>
