## A report page whose parameters were refused: the frame (with the form and the error) and no figures.
<%inherit file="report.mako"/>
<p class="muted" id="report-no-data">Correct the parameters above to see the report.</p>
