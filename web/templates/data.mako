<%inherit file="layout.mako"/>
<%namespace name="w" file="widgets.mako"/>
<%def name="title()">Data</%def>
<h1>Data</h1>
<form method="get" action="${c.url('data')}" class="filters" id="data-filter">
  <label>tag <input type="text" name="tag" id="filter-tag" data-testid="filter-tag" value="${tag}" size="14"></label>
  <label>name starts with <input type="text" name="prefix" id="filter-prefix" value="${prefix}" size="14"></label>
  <button type="submit" id="data-filter-submit">filter</button>
  % if keep:
  <a href="${c.url('data')}">everything</a>
  % endif
</form>

<h2>Objects</h2>
<p class="muted">Named files of any size (largest accepted: ${f.size(max_size)}). Writing a name again adds a version; JSON and CSV are checked before they are kept. Tasks read and write them as <code>services["objects"]</code>.</p>
${w.pager(total, limit, offset, more, 'data', keep)}
<table id="objects" data-testid="objects">
<thead><tr><th>name</th><th>version</th><th>size</th><th>type</th><th>tags</th><th>produced by</th><th>stored</th><th>actions</th></tr></thead>
<tbody>
% for o in objects:
<tr data-name="${o['name']}" data-testid="object-row">
  <td><a href="${c.url('data/objects/' + o['name'])}" data-testid="object-link">${o['name']}</a></td>
  <td>${o['version']}</td>
  <td title="${o['size']} bytes">${f.size(o['size'])}</td>
  <td>${o['format']}<br><span class="muted">${o['content_type']}</span></td>
  <td>${w.tags(o['tags'], 'data')}</td>
  <td>${w.producer(o.get('producer'))}</td>
  <td>${f.when(o.get('created'))}</td>
  <td>
  % if not c.read_only:
    <form method="post" action="${c.url('data/objects/' + o['name'] + '/delete')}" class="inline" data-confirm="Delete every version of ${o['name']}?">${w.hidden()}<button type="submit" class="danger" data-testid="delete-object">delete</button></form>
  % endif
  </td>
</tr>
% endfor
</tbody>
</table>
% if not c.read_only:
<h3>Upload</h3>
<form method="post" action="${c.url('data/objects')}" enctype="multipart/form-data" class="grid" id="upload-form" data-testid="upload-form">
  ${w.hidden()}
  <label>file <input type="file" name="file" id="upload-file" required></label>
  <label>name (default: the file's) <input type="text" name="name" id="upload-name" size="20" placeholder="readings.csv"></label>
  <label>tags (comma-separated) <input type="text" name="tags" id="upload-tags" size="20" placeholder="sensors, raw"></label>
  <label>format <select name="format" id="upload-format"><option value="">from the name or type</option><option value="json">json</option><option value="csv">csv</option><option value="bytes">bytes</option></select></label>
  <button type="submit" id="upload-submit">upload</button>
</form>
% endif

<h2>Streams</h2>
<p class="muted">AMQP queues consumed into the store: each message stored once, then acknowledged. Tasks read them as <code>services["streams"]</code>; a job with <code>on_stream</code> also runs when new messages arrive.</p>
% if streams_error:
<p class="flash error" id="streams-error">streams: ${streams_error}</p>
% endif
<table id="streams" data-testid="streams">
<thead><tr><th>name</th><th>queue</th><th>broker</th><th>tags</th><th>state</th><th>rate</th><th>stored</th><th>last error</th><th>actions</th></tr></thead>
<tbody>
% for s in streams:
<% st = s['status'] %>
<tr data-name="${s['name']}" data-testid="stream-row">
  <td><a href="${c.url('data/streams/' + s['name'])}" data-testid="stream-link">${s['name']}</a></td>
  <td class="mono">${s['queue']}</td>
  <td class="mono">${s['uri']}</td>
  <td>${w.tags(s['tags'], 'data')}</td>
  <td>${w.stream_state(st)}</td>
  <td>${'%.1f/s' % (st.get('rate') or 0)}</td>
  <td>${st.get('stored', 0)}</td>
  <td class="clip">${st.get('error') or ''}</td>
  <td>${w.stream_actions(s)}</td>
</tr>
% endfor
</tbody>
</table>
% if not c.read_only:
<h3>Add a stream</h3>
<form method="post" action="${c.url('data/streams')}" class="grid" id="stream-form" data-testid="stream-form">
  ${w.hidden()}
  <label>name <input type="text" name="name" id="stream-name" required size="16" placeholder="sensors"></label>
  <label>broker URI <input type="text" name="uri" id="stream-uri" required size="30" placeholder="amqp://user:pass@host:5672/%2F"></label>
  <label>queue <input type="text" name="queue" id="stream-queue" required size="16"></label>
  <label>tags (comma-separated) <input type="text" name="tags" id="stream-tags" size="16"></label>
  <button type="submit" id="stream-submit">add</button>
</form>
% endif
