## What a script showed (web.outputs): images in <img> (served with a sandboxing CSP), tables and text escaped.

<%def name="show(run, outputs)">
<% base = 'runs/%s/%s/outputs/' % (run.get('job_id', ''), run.get('index')) %>
<div class="outputs" data-testid="outputs">
% for number, item in enumerate(outputs):
  % if item.get('kind') == 'image':
  <figure class="output-image" data-testid="output-image">
    <img src="${c.url(base + str(number))}" alt="${item.get('title') or 'figure %d' % (number + 1)}" loading="lazy">
    % if item.get('title') or item.get('note'):
    <figcaption>${item.get('title') or ''}${' - ' if item.get('title') and item.get('note') else ''}<span class="muted">${item.get('note') or ''}</span></figcaption>
    % endif
  </figure>
  % elif item.get('kind') == 'table':
  <div class="output-table" data-testid="output-table">
  <table>
    <thead><tr><th></th>
    % for column in item.get('columns') or []:
      <th>${column}</th>
    % endfor
    </tr></thead>
    <tbody>
    % for label, row in zip(item.get('index') or [], item.get('rows') or []):
      <tr><th>${label}</th>
      % for cell in row:
        <td>${'' if cell is None else cell}</td>
      % endfor
      </tr>
    % endfor
    </tbody>
  </table>
  % if item.get('truncated'):
  <p class="muted">${(item.get('shape') or ['?', '?'])[0]} rows &times; ${(item.get('shape') or ['?', '?'])[1]} columns; the first ones shown.</p>
  % endif
  </div>
  % elif item.get('kind') == 'note':
  <p class="muted output-note" data-testid="output-note">${item.get('text', '')}</p>
  % else:
  <pre class="output-text" data-testid="output-text">${item.get('text', '')}</pre>
  % endif
% endfor
</div>
</%def>
