## The Workers report (reports/workers.py). Every value is escaped; charts are SVG built by reports.charts.
<%inherit file="report.mako"/>
<section id="report-workers">
<div class="cards" id="workers-counts" data-testid="workers-counts">
  <div class="card ${'bad' if data['crashes'] else ''}"><span class="num" id="workers-crashes">${data['crashes']}</span><span class="label">worker crashes</span></div>
  <div class="card"><span class="num" id="workers-process-restarts">${data['process_restarts']}</span><span class="label">restarts after a crash</span></div>
  <div class="card"><span class="num" id="workers-recycles">${data['recycles']}</span><span class="label">recycled processes</span></div>
  <div class="card"><span class="num" id="workers-kills">${data['kills']}</span><span class="label">killed (timeout, cancel)</span></div>
  <div class="card ${'bad' if data['degraded_now'] else ''}"><span class="num" id="workers-degraded">${len(data['degraded_now'])}</span><span class="label">slots degraded now</span></div>
  <div class="card"><span class="num" id="workers-actor-restarts">${sum(data['actor_restarts'].values())}</span><span class="label">actor restarts</span></div>
</div>

<h2 id="workers-slots-heading">Worker slots</h2>
<table id="workers-slots" data-testid="workers-slots">
<thead><tr><th>slot</th><th>status now</th><th>pid now</th><th>runs</th><th>processes seen</th><th>crashes</th><th>recycles</th><th>kills</th><th>degraded</th><th>peak RSS</th><th>last RSS</th></tr></thead>
<tbody>
% for s in data['slots']:
<tr id="slot-${s['slot']}" data-slot="${s['slot']}">
  <td>${s['slot']}</td>
  <td><span class="badge worker-${s['status'] or 'unknown'}">${s['status'] or '-'}</span></td>
  <td>${s['pid_now'] or '-'}</td>
  <td>${s['runs']}</td>
  <td title="${', '.join(str(p) for p in s['pids'])}">${s['processes']}</td>
  <td>${s['crashes']}</td>
  <td>${s['recycles']}</td>
  <td>${s['kills']}</td>
  <td>${s['degraded_events']}</td>
  <td>${'-' if s['peak_rss_mb'] is None else '%.1f MiB' % s['peak_rss_mb']}</td>
  <td>${'-' if s['last_rss_mb'] is None else '%.1f MiB' % s['last_rss_mb']}</td>
</tr>
% endfor
</tbody>
</table>

% if data['rss_recorded']:
<figure id="figure-rss">${charts.render(data['charts']['rss'], 'chart-rss')}</figure>
% else:
<p class="muted" id="workers-no-rss">No run of the period recorded its worker's memory: results record <code>rss_kb</code> (the worker process's peak RSS, <code>ru_maxrss</code>) since this report exists; older runs have none.</p>
% endif
<figure id="figure-restarts">${charts.render(data['charts']['restarts'], 'chart-restarts')}</figure>
<figure id="figure-signals">${charts.render(data['charts']['signals'], 'chart-signals')}</figure>

<h2 id="workers-events-heading">Events (${data['event_count']}, newest first)</h2>
% if data['events']:
<table id="workers-events" data-testid="workers-events">
<thead><tr><th>time</th><th>event</th><th>slot</th><th>pid</th><th>details</th></tr></thead>
<tbody>
% for e in data['events']:
<tr data-event="${e['event']}">
  <td>${f.when(e['time'])}</td>
  <td>${e['event']}</td>
  <td>${'-' if e['slot'] is None else e['slot']}</td>
  <td>${e['pid'] or '-'}</td>
  <td class="clip">${f.compact({k: v for k, v in e['fields'].items() if k not in ('slot', 'pid')})}</td>
</tr>
% endfor
</tbody>
</table>
% else:
<p class="muted" id="workers-no-events">No worker crash, restart or degradation in the period.</p>
% endif
</section>
