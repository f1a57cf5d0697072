/* token_jwt.h — POST /token with grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer
 * (RFC 7523 §2.1), the part of ep/token.c that may need a worker thread: when a trusted
 * issuer's jwks_uri must be fetched, the grant is redone on the req_defer() pool so that no
 * HTTP thread waits on the network. */
#ifndef GH_EP_TOKEN_JWT_H
#define GH_EP_TOKEN_JWT_H

struct client_req;
struct req;
struct store;

/* The grant for the client cq authenticated (token.c checked it may use the grant type).
 * Queues the answer, or defers the request (taking cq->c), and returns what a handler
 * returns. */
int  ep_token_jwt_bearer(struct req *rq, struct store *st, struct client_req *cq);
/* The second run of the handler after a deferral (req_deferred(rq) != NULL): queue the answer
 * the worker produced. */
int  ep_token_jwt_resume(struct req *rq);

#endif
