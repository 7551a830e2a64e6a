import { createHash } from 'node:crypto';

/** A page the API serves, and the headers it must be served with. */
export interface HtmlPage {
  readonly html: string;
  readonly headers: Readonly<Record<string, string>>;
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * A self-contained page: one inline style and one inline script, allowed by hash in its
 * Content-Security-Policy, with requests to its own origin only and no form submission, as the
 * dashboard allows only its own files (local/dashboard/dashboard.ts). `scriptFiles` are scripts
 * of its own origin it loads before its inline one (`script-src 'self'`).
 */
export function htmlPage(page: {
  readonly title: string;
  readonly style: string;
  readonly body: string;
  readonly script: string;
  readonly scriptFiles?: readonly string[];
}): HtmlPage {
  const files = page.scriptFiles ?? [];
  const html = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${page.title}</title><style>${page.style}</style></head>`,
    `<body>${page.body}`,
    `${files.map((file) => `<script src="${file}"></script>`).join('')}<script>${page.script}</script></body></html>`,
  ].join('\n');
  const scriptSrc = [...(files.length > 0 ? ["'self'"] : []), sha256(page.script)].join(' ');
  const csp = `default-src 'none'; script-src ${scriptSrc}; style-src ${sha256(page.style)}; connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  return {
    html,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'public, max-age=300',
    },
  };
}
