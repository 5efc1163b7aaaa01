/**
 * `GET /docs`: one self-contained HTML page (no CDN: the machines are offline)
 * that reads `/openapi.json` and lists each operation with its parameters,
 * request body and response schemas. Document text is only ever inserted as
 * textContent, never as HTML.
 */
export const DOCS_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'";

export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bflow API</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1rem 2rem; color: #1d232a; }
h1 { margin-bottom: 0; } .sub { color: #5b6670; margin-top: .2rem; }
details.op { border: 1px solid #d5dbe1; border-radius: 6px; margin: .4rem 0; }
details.op > summary { cursor: pointer; padding: .5rem .7rem; list-style: none; }
.m { display: inline-block; min-width: 4.5em; font-weight: 700; text-transform: uppercase; }
.get { color: #1f6feb; } .post { color: #1a7f37; } .put { color: #9a6700; } .delete { color: #cf222e; } .patch { color: #8250df; }
.path { font-family: ui-monospace, monospace; } .summary { color: #5b6670; margin-left: .6rem; }
.body { padding: 0 .9rem .7rem; } h4 { margin: .7rem 0 .2rem; }
pre { background: #f6f8fa; padding: .5rem; overflow: auto; border-radius: 4px; margin: .2rem 0; }
input { width: 100%; padding: .4rem; margin: .6rem 0; box-sizing: border-box; }
.err { color: #cf222e; }
</style>
</head>
<body>
<h1 id="title">bflow API</h1>
<p class="sub" id="info">loading /openapi.json…</p>
<input id="filter" placeholder="filter by path, method or summary">
<div id="ops"></div>
<h2>Schemas</h2>
<div id="schemas"></div>
<script>
(function () {
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function json(v) { return el('pre', '', JSON.stringify(v, null, 2)); }
  function section(parent, title, value) {
    if (value === undefined) return;
    parent.appendChild(el('h4', '', title));
    parent.appendChild(json(value));
  }
  function schemasOf(content) {
    var out = {};
    Object.keys(content || {}).forEach(function (type) { out[type] = (content[type] || {}).schema; });
    return out;
  }
  function operation(path, method, op) {
    var d = el('details', 'op');
    d.dataset.key = (method + ' ' + path + ' ' + (op.summary || '') + ' ' + (op.tags || []).join(' ')).toLowerCase();
    var s = el('summary');
    s.appendChild(el('span', 'm ' + method, method));
    s.appendChild(el('span', 'path', path));
    if (op.summary) s.appendChild(el('span', 'summary', op.summary));
    d.appendChild(s);
    var b = el('div', 'body');
    if (op.description) b.appendChild(el('p', '', op.description));
    if (op.security) b.appendChild(el('p', '', 'security: ' + JSON.stringify(op.security)));
    section(b, 'Parameters', op.parameters);
    if (op.requestBody) section(b, 'Request body', schemasOf(op.requestBody.content));
    Object.keys(op.responses || {}).forEach(function (status) {
      var r = op.responses[status] || {};
      b.appendChild(el('h4', '', 'Response ' + status + (r.description ? ' — ' + r.description : '')));
      if (r.content) b.appendChild(json(schemasOf(r.content)));
    });
    d.appendChild(b);
    return d;
  }
  function render(doc) {
    document.getElementById('title').textContent = (doc.info && doc.info.title) || 'API';
    document.getElementById('info').textContent = 'version ' + ((doc.info && doc.info.version) || '?') + ' · OpenAPI ' + (doc.openapi || '?') + ' · auth: Authorization: Bearer <JWT>';
    var ops = document.getElementById('ops');
    var paths = doc.paths || {};
    Object.keys(paths).sort().forEach(function (path) {
      Object.keys(paths[path]).forEach(function (method) {
        if (['get', 'post', 'put', 'patch', 'delete'].indexOf(method) >= 0) ops.appendChild(operation(path, method, paths[path][method]));
      });
    });
    if (!ops.children.length) ops.appendChild(el('p', '', 'no operations documented'));
    var schemas = (doc.components && doc.components.schemas) || {};
    var holder = document.getElementById('schemas');
    Object.keys(schemas).sort().forEach(function (name) {
      var d = el('details', 'op');
      d.appendChild(el('summary', 'path', name));
      d.appendChild(json(schemas[name]));
      holder.appendChild(d);
    });
  }
  document.getElementById('filter').addEventListener('input', function (e) {
    var q = e.target.value.toLowerCase();
    document.querySelectorAll('#ops details').forEach(function (d) { d.style.display = d.dataset.key.indexOf(q) >= 0 ? '' : 'none'; });
  });
  fetch('openapi.json').then(function (r) { return r.json(); }).then(render, function (e) {
    var info = document.getElementById('info');
    info.className = 'err';
    info.textContent = 'cannot load /openapi.json: ' + e;
  });
})();
</script>
</body>
</html>
`;
