import { HtmlPage, htmlPage } from './html-page';

/**
 * GET /docs: the API reference page. One self-contained HTML page (no CDN, no other origin): its
 * script fetches `openapi.json` next to it and renders the paths, parameters, request and
 * response schemas and the authentication schemes. Script and style are inline and allowed by
 * their SHA-256 in the Content-Security-Policy, so nothing else can run or style the page.
 *
 * They are strings here rather than files, so that the page is in the Lambda bundle as it is in
 * the local runtime; the page is tested in a real browser (test/contracts/openapi-docs-page.test.ts).
 */

const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f7f8fa; }
header { background: #1d2330; color: #fff; padding: 1rem 2rem; }
header p { margin: .25rem 0 0; color: #c9d1e0; }
main { display: grid; grid-template-columns: 16rem 1fr; gap: 2rem; padding: 1.5rem 2rem; }
nav a { display: block; color: #1d4ed8; text-decoration: none; font: 13px ui-monospace, monospace; padding: .1rem 0; }
section.operation, section.auth { background: #fff; border: 1px solid #dde2ea; border-radius: 6px; padding: 1rem 1.25rem; margin-bottom: 1.25rem; }
h2 { font: 600 16px ui-monospace, monospace; margin: 0 0 .5rem; }
.method { display: inline-block; min-width: 3.5rem; color: #fff; background: #475569; border-radius: 3px; padding: 0 .4rem; margin-right: .5rem; text-align: center; }
.GET { background: #15803d; } .POST { background: #1d4ed8; } .PUT { background: #b45309; }
h3 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: #5b6474; margin: 1rem 0 .3rem; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
td, th { border-top: 1px solid #e5e8ee; padding: .3rem .5rem; text-align: left; vertical-align: top; }
pre { background: #f1f3f7; padding: .6rem; border-radius: 4px; overflow: auto; font-size: 12px; max-height: 24rem; }
.status { font-family: ui-monospace, monospace; font-weight: 600; }
#error { color: #b91c1c; }
`;

const SCRIPT = `
(function () {
  'use strict';
  var root = document.getElementById('reference');
  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }
  function resolve(schema, doc, depth) {
    if (!schema || typeof schema !== 'object' || depth > 8) return schema;
    if (Array.isArray(schema)) return schema.map(function (item) { return resolve(item, doc, depth + 1); });
    if (typeof schema.$ref === 'string' && schema.$ref.indexOf('#/components/schemas/') === 0) {
      return resolve(doc.components.schemas[schema.$ref.slice(21)], doc, depth + 1);
    }
    var out = {};
    Object.keys(schema).forEach(function (key) { out[key] = resolve(schema[key], doc, depth + 1); });
    return out;
  }
  function schemaBlock(schema, doc) {
    return el('pre', JSON.stringify(resolve(schema, doc, 0), null, 2));
  }
  function table(headings, rows) {
    var t = el('table');
    var head = el('tr');
    headings.forEach(function (h) { head.appendChild(el('th', h)); });
    t.appendChild(head);
    rows.forEach(function (cells) {
      var row = el('tr');
      cells.forEach(function (cell) { row.appendChild(el('td', cell)); });
      t.appendChild(row);
    });
    return t;
  }
  function renderAuth(doc, container) {
    var schemes = (doc.components && doc.components.securitySchemes) || {};
    var section = el('section', undefined, 'auth');
    section.id = 'auth';
    section.appendChild(el('h2', 'Authentication'));
    section.appendChild(table(['scheme', 'how', 'description'], Object.keys(schemes).map(function (name) {
      var s = schemes[name];
      var how = s.type === 'http' ? 'Authorization: ' + s.scheme : s.type === 'apiKey' ? s.in + ' ' + s.name : s.type;
      return [name, how, s.description || ''];
    })));
    container.appendChild(section);
  }
  function renderResponses(operation, doc, section) {
    section.appendChild(el('h3', 'Responses'));
    Object.keys(operation.responses || {}).forEach(function (status) {
      var response = operation.responses[status];
      var line = el('p');
      line.appendChild(el('span', status + ' ', 'status'));
      line.appendChild(document.createTextNode(response.description || ''));
      section.appendChild(line);
      if (response.headers) section.appendChild(el('p', 'Headers: ' + Object.keys(response.headers).join(', ')));
      var content = response.content || {};
      Object.keys(content).forEach(function (type) {
        if (type === 'application/json') section.appendChild(schemaBlock(content[type].schema, doc));
        else section.appendChild(el('p', type));
      });
    });
  }
  function renderOperation(path, method, operation, doc, container, nav) {
    var id = operation.operationId || (method + path);
    var section = el('section', undefined, 'operation');
    section.id = id;
    var title = el('h2');
    title.appendChild(el('span', method.toUpperCase(), 'method ' + method.toUpperCase()));
    title.appendChild(document.createTextNode(path));
    section.appendChild(title);
    section.appendChild(el('p', operation.summary || ''));
    var security = operation.security || doc.security || [];
    var names = security.map(function (requirement) { return Object.keys(requirement).join(' + '); });
    section.appendChild(el('p', 'Authentication: ' + (names.length ? names.join(' or ') : 'none')));
    if (operation.parameters && operation.parameters.length) {
      section.appendChild(el('h3', 'Parameters'));
      section.appendChild(table(['name', 'in', 'required', 'schema'], operation.parameters.map(function (p) {
        return [p.name, p.in, p.required ? 'yes' : 'no', JSON.stringify(p.schema)];
      })));
    }
    if (operation.requestBody) {
      section.appendChild(el('h3', 'Request body'));
      var body = operation.requestBody.content['application/json'];
      section.appendChild(schemaBlock(body && body.schema, doc));
    }
    renderResponses(operation, doc, section);
    container.appendChild(section);
    var link = el('a', method.toUpperCase() + ' ' + path);
    link.href = '#' + id;
    nav.appendChild(link);
  }
  function render(doc) {
    document.title = doc.info.title + ' reference';
    document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version;
    document.getElementById('description').textContent = doc.info.description || '';
    var nav = document.getElementById('nav');
    var authLink = el('a', 'Authentication');
    authLink.href = '#auth';
    nav.appendChild(authLink);
    renderAuth(doc, root);
    Object.keys(doc.paths).forEach(function (path) {
      Object.keys(doc.paths[path]).forEach(function (method) {
        renderOperation(path, method, doc.paths[path][method], doc, root, nav);
      });
    });
    root.setAttribute('data-rendered', String(root.querySelectorAll('section.operation').length));
  }
  fetch('openapi.json', { headers: { accept: 'application/json' } })
    .then(function (response) {
      if (!response.ok) throw new Error('GET openapi.json answered ' + response.status);
      return response.json();
    })
    .then(render)
    .catch(function (error) {
      document.getElementById('error').textContent = 'Could not load the API description: ' + error.message;
    });
})();
`;

/** The page, and the headers it must be served with. */
export type ReferencePage = HtmlPage;

/** The reference page and its headers (see {@link htmlPage}). */
export function referencePage(): ReferencePage {
  return htmlPage({
    title: 'API reference',
    style: STYLE,
    body: '<header><h1 id="title">API reference</h1><p id="description"></p><p id="error"></p></header>\n<main><nav id="nav"></nav><div id="reference"></div></main>',
    script: SCRIPT,
  });
}
