/**
 * The HTML of /s/:token (issue 13). A live link gets the browser app's index.html with OpenGraph and Twitter
 * tags for link previews (a password link: a neutral title, no picture); a revoked, expired or deleted one a
 * small self-contained 410 page saying which; anything else a 404 page that says nothing more. Everything
 * injected is HTML-escaped, and no page has an inline script (the app's Content-Security-Policy holds).
 */
import type { SharePage } from './share-visits.service.js';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

const DESCRIPTION_CHARS = 200;

function meta(attribute: 'property' | 'name', key: string, value: string): string {
  return `<meta ${attribute}="${key}" content="${escapeHtml(value)}">`;
}

/** The tags of a live link's preview; `origin` makes its URLs absolute (crawlers need them so). */
export function previewTags(page: Extract<SharePage, { kind: 'live' }>, origin: string, token: string): string {
  const pageUrl = `${origin}/s/${encodeURIComponent(token)}`;
  const description =
    page.description?.trim().slice(0, DESCRIPTION_CHARS) ||
    (page.passwordRequired ? 'Enter the password to watch it.' : 'A recording shared with you.');
  const tags = [
    `<title>${escapeHtml(page.title)}</title>`,
    meta('property', 'og:title', page.title),
    meta('property', 'og:description', description),
    meta('property', 'og:type', 'video.other'),
    meta('property', 'og:url', pageUrl),
    meta('name', 'twitter:title', page.title),
    meta('name', 'twitter:description', description),
    meta('name', 'robots', 'noindex'),
  ];
  if (page.thumbnail) {
    const image = `${pageUrl.replace('/s/', '/api/s/')}/thumbnail`;
    tags.push(meta('property', 'og:image', image), meta('name', 'twitter:image', image));
    tags.push(meta('name', 'twitter:card', 'summary_large_image'));
  } else {
    tags.push(meta('name', 'twitter:card', 'summary'));
  }
  return tags.join('\n    ');
}

/** index.html with the preview tags in its head (its own <title> replaced). */
export function injectPreview(indexHtml: string, tags: string): string {
  const withoutTitle = indexHtml.replace(/<title>[\s\S]*?<\/title>/i, '');
  return withoutTitle.includes('</head>')
    ? // a function, not a string: a title's `$'` or `$&` must not be read as a replacement pattern
      withoutTitle.replace('</head>', () => `    ${tags}\n  </head>`)
    : `<!doctype html><html lang="en"><head><meta charset="utf-8">${tags}</head><body></body></html>\n`;
}

const GONE_HEADINGS: Record<string, string> = {
  SHARE_REVOKED: 'This link was revoked',
  SHARE_EXPIRED: 'This link has expired',
  SHARE_GONE: 'This recording was deleted',
};

/** A small page without scripts, for 404 and 410. */
export function statusPage(heading: string, text: string): string {
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">' +
    `<title>${escapeHtml(heading)}</title>` +
    '<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:15vh auto;padding:0 1rem;color:#222}' +
    'h1{font-size:1.4rem}p{color:#555}</style></head>' +
    `<body><h1>${escapeHtml(heading)}</h1><p>${escapeHtml(text)}</p></body></html>\n`
  );
}

export function gonePage(page: Extract<SharePage, { kind: 'gone' }>): string {
  const heading = GONE_HEADINGS[page.code] ?? 'This link no longer works';
  return statusPage(heading, 'Ask whoever shared it with you for a new link.');
}

export const MISSING_PAGE = statusPage('This link does not exist', 'Check that you copied the whole link.');
