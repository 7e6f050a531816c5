<%inherit file="layout.mako"/>
<%namespace name="w" file="widgets.mako"/>
<%def name="title()">Object ${obj['name']}</%def>
<h1>Object ${obj['name']} <span class="muted">version ${obj['version']}</span></h1>
<div class="columns">
<section>
<dl class="facts" id="object-facts">
  <dt>size</dt><dd>${f.size(obj['size'])} (${obj['size']} bytes)</dd>
  <dt>format</dt><dd>${obj['format']}</dd>
  <dt>content type</dt><dd class="mono">${obj['content_type']}</dd>
  <dt>sha256</dt><dd class="mono" id="object-sha256">${obj['sha256']}</dd>
  <dt>tags</dt><dd id="object-tags">${w.tags(obj['tags'], 'data')}</dd>
  <dt>produced by</dt><dd>${w.producer(obj.get('producer'))}</dd>
  <dt>stored</dt><dd>${f.when(obj.get('created'))}</dd>
  % if obj['facts'].get('columns') is not None:
  <dt>CSV</dt><dd>${len(obj['facts']['columns'])} columns, ${obj['facts'].get('rows')} rows</dd>
  % endif
</dl>
<p><a href="${download}" id="download" data-testid="download">download</a></p>
% if not c.read_only:
<form method="post" action="${c.url('data/objects/' + obj['name'] + '/tags')}" class="filters" id="tag-form">
  ${w.hidden()}
  % if version:
  <input type="hidden" name="version" value="${version}">
  % endif
  <label>add tags <input type="text" name="add" id="tag-add" size="16"></label>
  <label>remove tags <input type="text" name="remove" id="tag-remove" size="16"></label>
  <button type="submit" id="tag-submit">change tags</button>
</form>
<form method="post" action="${c.url('data/objects/' + obj['name'] + '/delete')}" class="inline" data-confirm="Delete every version of ${obj['name']}?">${w.hidden()}<button type="submit" class="danger" id="delete-object">delete every version</button></form>
% endif
</section>
<section>
<h2>Versions</h2>
<table id="versions" data-testid="versions">
<thead><tr><th>version</th><th>size</th><th>sha256</th><th>stored</th><th>produced by</th><th></th></tr></thead>
<tbody>
% for v in versions:
<tr>
  <td><a href="${c.url('data/objects/' + v['name'], version=v['version'])}">${v['version']}</a></td>
  <td>${f.size(v['size'])}</td>
  <td class="mono">${v['sha256'][:16]}&hellip;</td>
  <td>${f.when(v.get('created'))}</td>
  <td>${w.producer(v.get('producer'))}</td>
  <td>
  % if not c.read_only and len(versions) > 1:
    <form method="post" action="${c.url('data/objects/' + v['name'] + '/delete')}" class="inline" data-confirm="Delete version ${v['version']}?">${w.hidden()}<input type="hidden" name="version" value="${v['version']}"><button type="submit" class="danger">delete</button></form>
  % endif
  </td>
</tr>
% endfor
</tbody>
</table>
</section>
</div>

<h2>Content</h2>
% if preview['kind'] == 'json':
<pre id="object-json" data-testid="object-json">${preview['text']}</pre>
% elif preview['kind'] == 'csv':
<% keep = {'version': version} if version else {} %>
<p class="pager" data-testid="csv-pager">rows ${preview['offset'] + 1}&ndash;${preview['offset'] + len(preview['rows'])}${'' if preview['total'] is None else ' of %s' % preview['total']}
% if preview['offset'] > 0:
  <a href="${c.url('data/objects/' + obj['name'], offset=max(0, preview['offset'] - preview['limit']), limit=preview['limit'], **keep)}" id="prev-page">&larr; earlier</a>
% endif
% if preview['more']:
  <a href="${c.url('data/objects/' + obj['name'], offset=preview['offset'] + preview['limit'], limit=preview['limit'], **keep)}" id="next-page">later &rarr;</a>
% endif
</p>
<table id="object-csv" data-testid="object-csv">
<thead><tr>
% for column in preview['columns']:
<th>${column}</th>
% endfor
</tr></thead>
<tbody>
% for row in preview['rows']:
<tr>
  % for value in row:
  <td>${value}</td>
  % endfor
</tr>
% endfor
</tbody>
</table>
% elif preview['kind'] == 'json-too-large':
<p class="muted" id="object-bytes">A JSON object too large to show here (${f.size(obj['size'])}): download it.</p>
% else:
<p class="muted" id="object-bytes">${f.size(obj['size'])} of ${obj['content_type']}, sha256 <span class="mono">${obj['sha256']}</span>: <a href="${download}">download</a>.</p>
% endif
