<%inherit file="layout.mako"/>
<%def name="title()">${status}</%def>
<h1>${status} ${{400: 'bad request', 401: 'log in', 403: 'refused', 404: 'not found', 405: 'method not allowed', 409: 'conflict', 413: 'too large', 503: 'unavailable'}.get(status, 'error')}</h1>
<p class="flash error" role="alert" id="error-message" data-testid="error-message" data-status="${status}" data-field="${field or ''}">${message}</p>
<p><a href="${c.url()}" id="error-home">overview</a> &middot; <a href="${c.url('schedule')}">schedule</a></p>
