<%inherit file="report.mako"/>
<p id="extra-word">${data['word']} x ${data['count']} (${'flag' if data['flag'] else 'no flag'})</p>
