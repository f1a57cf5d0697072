/* user.h — end-user records and the rules for them: username syntax, password policy, the
 * stable opaque subject identifier. Storage goes through store.h. */
#ifndef GH_MODEL_USER_H
#define GH_MODEL_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct pw_params;

struct user {
    char *sub;            /* 43-char base64url of 256 random bits; never the username, never reused */
    char *username;       /* lower-case, validated */
    char *email;          /* NULL if unset */
    char *name;           /* NULL if unset */
    char *password_hash;  /* Argon2id PHC string; NULL if no password set */
    bool disabled;
    int64_t created_at, updated_at;
};

void user_free(struct user *u);                       /* NULL is a no-op; wipes the hash */
void user_list_free(struct user **list, size_t n);

struct pw_policy {
    size_t min_len;       /* characters (UTF-8 code points), >= GH_MIN_PASSWORD_FLOOR */
};

/* Normalise (ASCII lower-case) and validate a username in place: 1..GH_MAX_USERNAME
 * characters from [a-z0-9._@+-], starting with a letter or digit.
 * GH_OK or GH_EINVAL with *why. */
int  user_username_normalize(char *username, const char **why);
int  user_email_check(const char *email, const char **why);   /* GH_OK or GH_EINVAL + why */
int  user_name_check(const char *name, const char **why);     /* UTF-8, no controls, bounded */

/* Password policy (NIST SP 800-63B-4 §3.1.1.2): at least min_len characters, at most
 * GH_MAX_PASSWORD bytes (GH_ETOOBIG), valid UTF-8, not in the shipped common-password list
 * (case-insensitive), not the username, not one repeated character. No composition rules.
 * GH_OK, GH_ETOOBIG or GH_EINVAL with *why. */
int  user_password_acceptable(const struct pw_policy *pol, const char *username,
         const char *pw, size_t len, const char **why);
bool user_password_is_common(const char *pw, size_t len);

/* Validate, hash the password and store a new user. email/name may be NULL.
 * GH_OK, GH_EINVAL/GH_ETOOBIG (*why), GH_EEXIST (username taken), GH_ESTORE, GH_ECRYPTO.
 * On GH_OK *out (if out) is the stored record, caller frees. */
int  user_create(struct store *st, const struct pw_params *pp, const struct pw_policy *pol,
         const char *username, const char *email, const char *name, const char *pw,
         size_t pwlen, struct user **out, const char **why);
/* Check policy, hash and replace the password. GH_ENOTFOUND if no such user. */
int  user_set_password(struct store *st, const struct pw_params *pp, const struct pw_policy *pol,
         const char *username, const char *pw, size_t pwlen, const char **why);

#endif
