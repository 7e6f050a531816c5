<%inherit file="layout.mako"/>
<%def name="title()">${name}: v${diff['from']} &rarr; v${diff['to']}</%def>
<h1><a href="${c.url('scripts/' + name)}">${name}</a>: version ${diff['from']} &rarr; ${diff['to']}</h1>
<form method="get" action="${c.url('scripts/' + name + '/diff')}" class="filters">
  <label>from <input type="number" name="from" min="1" max="${latest}" value="${diff['from']}"></label>
  <label>to <input type="number" name="to" min="1" max="${latest}" value="${diff['to']}"></label>
  <button type="submit">compare</button>
</form>
% if not diff['lines']:
<p class="muted" id="no-diff">The two versions are the same.</p>
% else:
<pre class="diff" id="script-diff" data-testid="script-diff">\
% for kind, line in diff['lines']:
<span class="diff-${kind}">${line}</span>
% endfor
</pre>
% endif
