<%inherit file="layout.mako"/>
<%namespace name="w" file="widgets.mako"/>
<%def name="title()">Stream ${stream['name']}</%def>
<% st = stream['status'] %>
<h1>Stream ${stream['name']} ${w.stream_state(st)}</h1>
${w.stream_actions(stream)}
<div class="columns">
<section>
<dl class="facts" id="stream-facts">
  <dt>queue</dt><dd class="mono">${stream['queue']}</dd>
  <dt>broker</dt><dd class="mono">${stream['uri']}</dd>
  <dt>tags</dt><dd>${w.tags(stream['tags'], 'data')}</dd>
  <dt>state</dt><dd id="stream-state">${st.get('state')} since ${f.when(st.get('since'))} <span class="muted">${f.rel(st.get('since'))}</span></dd>
  <dt>last error</dt><dd id="stream-error">${st.get('error') or '-'}</dd>
  <dt>rate</dt><dd>${'%.1f' % (st.get('rate') or 0)} messages/s</dd>
  <dt>last message</dt><dd>${f.when(st.get('last_message_at'))}</dd>
</dl>
</section>
<section>
<dl class="facts" id="stream-counters">
  <dt>kept in the store</dt><dd id="stream-stored">${stream['stored']} (newest seq ${stream['last_seq']})</dd>
  <dt>since the consumer started</dt><dd>${st.get('received', 0)} received, ${st.get('stored', 0)} stored, ${st.get('duplicates', 0)} redeliveries skipped, ${st.get('acked', 0)} acked</dd>
  <dt>held unacked</dt><dd>${st.get('held', 0)}</dd>
  <dt>reconnects</dt><dd>${st.get('reconnects', 0)} (${st.get('connection_errors', 0)} failed connects, ${st.get('store_errors', 0)} store errors)</dd>
</dl>
</section>
</div>

<section id="live-tail" data-testid="live-tail" data-stream-url="${tail_url}" data-kind="stream">
  <h2>Live messages <button type="button" id="tail-toggle" data-testid="tail-toggle" hidden>start</button> <span id="tail-status" data-testid="tail-status" class="muted">needs JavaScript; reload the page to see new messages</span></h2>
  <table class="log"><tbody id="tail-lines" data-testid="tail-lines"></tbody></table>
</section>

<h2>Last messages</h2>
<table id="messages" data-testid="messages" class="log">
<thead><tr><th>received</th><th>seq</th><th>routing key</th><th>message</th></tr></thead>
<tbody>
% for m in stream['messages']:
<tr>
  <td>${f.when(m.get('recv'))}</td>
  <td>${m.get('seq')}</td>
  <td class="mono">${m.get('routing_key') or ''}</td>
  <td class="msg">${m['body_text'] if m.get('body_text') is not None else '(%s bytes, not text)' % m.get('size')}</td>
</tr>
% endfor
</tbody>
</table>
