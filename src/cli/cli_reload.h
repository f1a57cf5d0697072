/* cli_reload.h — serve's reloader: swaps in a new key ring and a new set of documents (discovery,
 * JWKS, templates, static files) while workers keep answering, and rotates keys on schedule.
 * Driven by serve's main thread only (SIGHUP and its periodic wake-up). */
#ifndef GH_CLI_RELOAD_H
#define GH_CLI_RELOAD_H

struct app;
struct reloader;

/* Remember app's current ring and documents (built by app_open/ep_docs_build) and the store's
 * key list. Never fails (aborts on out-of-memory like every allocation). */
struct reloader *cli_reload_new(struct app *app);
/* Free what earlier reloads replaced; call after the server has stopped (srv_drain_and_stop).
 * The current app->keys and app->docs stay the caller's. NULL: no-op. */
void cli_reload_free(struct reloader *rl);
/* SIGHUP: rotate keys if due, then reload keys, templates and static files and rebuild the
 * documents. On failure the old ones stay in use and one err line is logged. */
void cli_reload_now(struct reloader *rl);
/* Every key_poll_interval seconds: rotate keys if due (key_rotation_interval), and reload when
 * the store's key list changed (`keys rotate` in another process or on another host sharing
 * the database) or a key changed state; frees replaced
 * generations older than GH_RELOAD_GRACE_S. */
void cli_reload_tick(struct reloader *rl);

#endif
