<%inherit file="layout.mako"/>
<%namespace name="w" file="widgets.mako"/>
<%def name="title()">Results</%def>
<h1>Results</h1>
<form method="get" action="${c.url('results')}" class="filters" id="results-filter">
  <label>job id <input type="text" name="job_id" id="filter-job-id" value="${sel['job_id']}" size="16"></label>
  <label>name <input type="text" name="name" id="filter-name" value="${sel['name']}" size="12"></label>
  <label>class <input type="text" name="classname" id="filter-classname" value="${sel['classname']}" size="12"></label>
  <label>parent <input type="text" name="parent" id="filter-parent" value="${sel['parent']}" size="16"></label>
  <label>outcome <select name="outcome" id="filter-outcome">
    <option value="">any</option>
    % for o in outcomes:
    <option value="${o}" ${'selected' if sel['outcome'] == o else ''}>${o}</option>
    % endfor
  </select></label>
  <label>last (s) <input type="number" name="last" id="filter-last" min="0" step="any" value="${sel['last']}" size="6"></label>
  <label>tag <input type="text" name="tag" id="filter-tag" data-testid="filter-tag" value="${sel['tag']}" size="10"></label>
  <label>per page <input type="number" name="limit" id="filter-limit" min="1" max="1000" value="${limit}" size="4"></label>
  <button type="submit" id="results-filter-submit">filter</button>
  <a href="${c.url('results')}">clear</a>
</form>
<div id="results-live" data-live>
${w.pager(total, limit, offset, more, 'results', {k: v for k, v in sel.items() if v})}
${w.runs_table(runs, id='results')}
</div>
