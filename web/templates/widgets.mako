## Small pieces shared by pages. Every value is escaped; ids are stable for browser tests.
<%!
from web.job_menu import allowed_actions
%>

<%def name="hidden()">\
<input type="hidden" name="csrf_token" value="${c.csrf}"><input type="hidden" name="next" value="${c.here}">\
</%def>

<%def name="outcome(value)">\
% if value:
<span class="badge ${value}" data-testid="outcome">${value}</span>\
% else:
<span class="muted">-</span>\
% endif
</%def>

<%def name="state(value)"><span class="badge state-${value}" data-testid="state">${value}</span></%def>

<%def name="job_actions(job, compact=False)">
<% jid = job['job_id'] %>
% if c.read_only:
<span class="muted">read-only</span>
% elif compact:
<details class="menu" data-job-id="${jid}" id="menu-${jid}">
<summary data-testid="actions-menu" title="the actions this job's state (${job.get('state')}) allows">actions</summary>
<div class="menu-items">${action_forms(job)}</div>
</details>
% else:
<div class="actions" data-job-id="${jid}">${action_forms(job)}</div>
% endif
</%def>

## Only the actions the job's state allows (web.job_menu); each is a POST form with the CSRF token.
<%def name="action_forms(job)">
<% jid = job['job_id']; allowed = allowed_actions(job) %>
  % if 'run-now' in allowed:
  <form method="post" action="${c.url('jobs/' + jid + '/run-now')}" class="inline">${hidden()}<button type="submit" id="run-now-${jid}" data-testid="run-now" title="one extra run as soon as a worker is free; the schedule stays as it is">run now</button></form>
  % endif
  % if 'resume' in allowed:
  <form method="post" action="${c.url('jobs/' + jid + '/resume')}" class="inline">${hidden()}<button type="submit" id="resume-${jid}" data-testid="resume">resume</button></form>
  % endif
  % if 'pause' in allowed:
  <form method="post" action="${c.url('jobs/' + jid + '/pause')}" class="inline">${hidden()}<button type="submit" id="pause-${jid}" data-testid="pause">pause</button></form>
  % endif
  % if 'reschedule' in allowed:
  <form method="post" action="${c.url('jobs/' + jid + '/reschedule')}" class="inline reschedule">${hidden()}<input type="text" name="when" id="when-${jid}" data-testid="reschedule-when" placeholder="+10m, 14:30, ISO" size="10" aria-label="new due time" required><button type="submit" id="reschedule-${jid}" data-testid="reschedule">reschedule</button></form>
  % endif
  % if 'remove' in allowed:
  <form method="post" action="${c.url('jobs/' + jid + '/remove')}" class="inline" data-confirm="Remove job ${job['name']}?">${hidden()}<button type="submit" id="remove-${jid}" data-testid="remove" class="danger">remove</button></form>
  % endif
</%def>

## A time as "in 5 s" / "3 min ago", the absolute UTC time on hover.
<%def name="reltime(epoch, testid='reltime')">\
% if epoch is None:
<span class="muted">-</span>\
% else:
<time datetime="${f.iso(epoch)}" title="${f.when(epoch)} (UTC)" data-testid="${testid}">${f.rel(epoch)}</time>\
% endif
</%def>

<%def name="pager(total, limit, offset, more, path, keep)">
<% shown_to = min(offset + limit, total) %>
<p class="pager" data-testid="pager">
% if total:
  showing ${offset + 1}&ndash;${shown_to} of <strong id="total" data-testid="total">${total}</strong>
% else:
  nothing matches (<strong id="total" data-testid="total">0</strong>)
% endif
% if offset > 0:
  <a href="${c.url(path, offset=max(0, offset - limit), limit=limit, **keep)}" id="prev-page" data-testid="prev-page">&larr; newer</a>
% endif
% if more:
  <a href="${c.url(path, offset=offset + limit, limit=limit, **keep)}" id="next-page" data-testid="next-page">older &rarr;</a>
% endif
</p>
</%def>

<%def name="runs_table(runs, id='runs')">
<table id="${id}" data-testid="${id}">
<thead><tr><th>run</th><th>job</th><th>class</th><th>outcome</th><th>started</th><th>duration</th><th>trigger</th><th>error</th></tr></thead>
<tbody>
% for r in runs:
<tr data-job-id="${r.get('job_id', '')}">
  % if r.get('outcome') == 'missed':
  <td data-testid="missed-slot" title="slot ${f.when(r.get('slot'))}">${'%d slots' % r['count'] if (r.get('count') or 1) > 1 else 'slot'}</td>
  % else:
  <td><a href="${c.run_url(r.get('job_id', ''), r.get('index', ''), r.get('attempt'))}" data-testid="run-link">${r.get('index')}${'.%s' % r['attempt'] if r.get('attempt') else ''}</a></td>
  % endif
  % if r.get('trigger') == 'one-off':
  <td><a href="${c.url('scripts/' + r.get('name', ''))}" title="a one-off run of this script (no job)">${r.get('name', '')}</a></td>
  % else:
  <td><a href="${c.job_url(r.get('job_id', ''))}">${r.get('name', '')}</a></td>
  % endif
  <td>${r.get('classname', '')}</td>
  <td>${outcome(r.get('outcome'))}</td>
  % if r.get('outcome') == 'missed':
  <td class="muted" title="due ${f.when(r.get('due_at'))}">due ${f.when(r.get('first') or r.get('due_at'))}${(' &ndash; ' + f.when(r.get('last'))) if (r.get('count') or 1) > 1 else ''}</td>
  % else:
  <td title="due ${f.when(r.get('due_at'))}">${f.when(r.get('started_at'))}</td>
  % endif
  <td>${f.dur(r.get('duration'))}</td>
  <td>${r.get('trigger', '')}</td>
  <td class="clip">${(r.get('error') or ' '.join(r.get('notes') or []) if r.get('outcome') == 'missed' else r.get('error') or '')[:160]}</td>
</tr>
% endfor
</tbody>
</table>
</%def>

<%def name="tags(values, path)">\
% for t in values or []:
<a href="${c.url(path, tag=t)}" class="badge tag" data-testid="tag">${t}</a> \
% endfor
</%def>

<%def name="producer(p)">\
% if p and p.get('job_id'):
<a href="${c.run_url(p['job_id'], p.get('index', ''), p.get('attempt'))}" data-testid="producer">${p.get('name') or p['job_id']} #${p.get('index', '')}</a>\
% else:
<span class="muted">upload</span>\
% endif
</%def>

<%def name="stream_state(st)"><span class="badge stream-${(st or {}).get('state', '-').replace(' ', '-')}" data-testid="stream-state">${(st or {}).get('state', '-')}</span></%def>

<%def name="stream_actions(s)">
% if c.read_only:
<span class="muted">read-only</span>
% else:
<div class="actions">
  % if s.get('paused'):
  <form method="post" action="${c.url('data/streams/' + s['name'] + '/resume')}" class="inline">${hidden()}<button type="submit" data-testid="resume-stream">resume</button></form>
  % else:
  <form method="post" action="${c.url('data/streams/' + s['name'] + '/pause')}" class="inline">${hidden()}<button type="submit" data-testid="pause-stream">pause</button></form>
  % endif
  <form method="post" action="${c.url('data/streams/' + s['name'] + '/remove')}" class="inline" data-confirm="Remove stream ${s['name']} and its stored messages?">${hidden()}<button type="submit" class="danger" data-testid="remove-stream">remove</button></form>
</div>
% endif
</%def>
