<%inherit file="layout.mako"/>
<%def name="title()">Target ${target['name']}</%def>
<h1>Target ${target['name']} <span class="muted">${target['kind']}</span></h1>
<dl class="facts" id="target-facts">
  <dt>URL</dt><dd class="mono">${target['url']}</dd>
  <dt>from</dt><dd>${'the config file (change it there)' if target['origin'] == 'config' else 'the panel'}</dd>
  % if target['kind'] == 'webhook':
  <dt>signed</dt><dd>${'yes: webhook-id, webhook-timestamp, webhook-signature (Standard Webhooks)' if target['signed'] else 'no'}</dd>
  <dt>headers</dt><dd class="mono">${f.compact(target.get('headers')) or '-'}</dd>
  % else:
  <dt>exchange</dt><dd class="mono">${target.get('exchange') or '(default)'}</dd>
  <dt>routing key</dt><dd class="mono">${target.get('routing_key') or '-'}</dd>
  % endif
</dl>
% if secret:
<details id="target-secret"><summary>show the signing secret</summary><pre class="mono">${secret}</pre></details>
% endif
% if not c.read_only and target['origin'] != 'config':
<div class="actions">
% if target['kind'] == 'webhook':
<form method="post" action="${c.url('targets/' + target['name'] + '/rotate')}" class="inline" data-confirm="Sign with a new secret from now on? Receivers need it."><input type="hidden" name="csrf_token" value="${c.csrf}"><button type="submit" id="rotate-secret">new secret</button></form>
% endif
<form method="post" action="${c.url('targets/' + target['name'] + '/delete')}" class="inline" data-confirm="Remove target ${target['name']}?"><input type="hidden" name="csrf_token" value="${c.csrf}"><button type="submit" class="danger" id="delete-target">remove</button></form>
</div>
% endif
<h2>Recent actions</h2>
<table id="target-actions"><thead><tr><th>queued</th><th>action</th><th>state</th><th>attempts</th><th>last status</th></tr></thead><tbody>
% for a in recent:
<tr><td>${f.when(a.get('created_at'))}</td><td><a class="mono" href="${c.url('actions/' + a['action_id'])}">${a['action_id'][:16]}&hellip;</a></td><td><span class="badge ${a.get('state', '')}">${a.get('state', '')}</span></td><td>${a.get('attempt_count', 0)}</td><td>${a.get('last_status') if a.get('last_status') is not None else '-'}</td></tr>
% endfor
</tbody></table>
