/* demo.h — the built-in demo app of `serve --demo` (ep/demo.c): a page at /demo that signs
 * people in through this server as the public client "demo-app" (authorization code + PKCE
 * S256, in the browser) and shows what an application receives. Without --demo, app->demo is
 * NULL and /demo is answered like any unknown path. */
#ifndef GH_EP_DEMO_H
#define GH_EP_DEMO_H

#include <stddef.h>

struct cfg;
struct req;
struct ep_demo;

#define DEMO_CLIENT_ID "demo-app"
#define DEMO_PATH "/demo"                    /* the page; also the post-logout address */
#define DEMO_CALLBACK_PATH "/demo/callback"  /* the redirect URI: the same page */
#define DEMO_TEMPLATE "demo.html"            /* in the templates directory */
#define DEMO_SCRIPT "demo.js"                /* in the static directory */
#define DEMO_STYLE "demo.css"                /* in the static directory */

/* The demo page for issuer (the server's effective issuer): cfg->templates_dir/demo.html
 * rendered once with the demo client's settings (issuer, client_id, redirect URI, post-logout
 * URI) and the content-hashed URLs of static/gatehouse.css, demo.css and demo.js, which must
 * exist in cfg->static_dir. GH_OK with *out (free with ep_demo_free after the daemon stopped);
 * otherwise *out is NULL and err says which file is missing or malformed. */
int  ep_demo_new(const struct cfg *cfg, const char *issuer, struct ep_demo **out, char *err,
         size_t errsz);
void ep_demo_free(struct ep_demo *d);   /* NULL is a no-op */

/* issuer + path without doubling a slash, into out (GH_ETOOBIG when it does not fit). */
int  ep_demo_url(const char *issuer, const char *path, char *out, size_t outsz);

/* GET /demo and GET /demo/callback: the demo page (HTML CSP, no-store); 404 not_found, as for
 * any unknown path, when demo mode is off. The page's script reads the callback's query
 * itself; the server never sees the code here. */
int  ep_demo(struct req *rq);

#endif
