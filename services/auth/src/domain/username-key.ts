/**
 * The one form usernames are compared in, for lockout keys, uniqueness and lookup alike: NFKC (full-width and
 * compatibility letters become their plain forms, combining sequences compose), then a full, locale-independent
 * case fold (upper- then lower-casing, so `ß` becomes `ss` and `İ` becomes `i̇`, whatever the server's or the
 * database's locale), then NFKC again because folding can leave a sequence uncomposed.
 *
 * Postgres's lower() is never used for this: it follows the database collation, and when it differs from this
 * function a name that is locked here can sign in there under another spelling.
 */
export function usernameKey (username: string): string {
  return username.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC')
}
