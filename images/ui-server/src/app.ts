import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHttpServer, errorBody, type HttpServer, type Logger } from '@saas/kit';
import { defaultStaticDir, loadAssets, type Asset } from './assets.ts';
import { dashboardPage, loginPage, notFoundPage, signupDonePage, signupPage, type AssetUrl } from './pages.ts';

export interface UiServerOptions {
  log: Logger;
  /** Where app.css and the scripts are; found beside the source or the bundle by default. */
  staticDir?: string;
}

/** Only our own scripts, styles and API; no framing; the login link's token never leaves in a Referer. */
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

const SESSION_NOTICES: Record<string, string> = {
  expired: 'Your session has ended. Use the login link from your latest mail, or sign up again to get a new one.',
  'logged-out': 'You are logged out.',
};

function one(query: unknown, name: string, max = 254): string | undefined {
  const v = (query as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' && v.length <= max ? v : undefined;
}

/** The sign-up page, the page a login link opens, and the dashboard; all data is fetched by the browser. */
export function buildUiServer(opts: UiServerOptions): HttpServer {
  const assets = loadAssets(opts.staticDir ?? defaultStaticDir());
  const assetUrl: AssetUrl = (name) => {
    const asset = assets.get(name);
    if (!asset) throw new Error(`ui-server: no static asset ${name}`);
    return `/static/${name}?v=${asset.version}`;
  };
  const server = createHttpServer({ logger: opts.log });
  const { app } = server;

  const page = (reply: FastifyReply, body: string, status = 200) => reply.code(status).headers(PAGE_HEADERS).send(body);

  app.get('/', async (request, reply) => {
    const session = one(request.query, 'session');
    // `error` lets a sign-up posted without JS come back here with what was wrong.
    return page(
      reply,
      signupPage(assetUrl, {
        email: one(request.query, 'email'),
        notice: session ? SESSION_NOTICES[session] : undefined,
        error: one(request.query, 'error', 300),
      }),
    );
  });
  app.get('/signup/done', async (request, reply) => page(reply, signupDonePage(assetUrl, { email: one(request.query, 'email') })));
  app.get('/login', async (_request, reply) => page(reply, loginPage(assetUrl)));
  app.get('/dashboard', async (_request, reply) => page(reply, dashboardPage(assetUrl)));

  app.get<{ Params: { name: string } }>('/static/:name', async (request, reply) => {
    const asset: Asset | undefined = assets.get(request.params.name);
    if (!asset) return reply.code(404).send(errorBody(`no static file ${request.params.name.slice(0, 100)}`));
    const versioned = one(request.query, 'v') === asset.version;
    reply.headers({
      'content-type': asset.contentType,
      'x-content-type-options': 'nosniff',
      etag: `"${asset.version}"`,
      'cache-control': versioned ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    if (request.headers['if-none-match'] === `"${asset.version}"`) return reply.code(304).send();
    return reply.send(asset.body);
  });
  app.get('/favicon.ico', async (_request, reply) => reply.redirect(assetUrl('favicon.svg'), 301));

  // Whatever else a browser asks for gets a page saying so; scripts get the JSON error.
  app.get('/*', async (request: FastifyRequest, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    if (!/text\/html/.test(request.headers.accept ?? '')) return reply.code(404).send(errorBody(`no route for GET ${path}`));
    return page(reply, notFoundPage(assetUrl, path.slice(0, 200)), 404);
  });

  return server;
}
