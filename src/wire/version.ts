/** The wire protocol's version, in every message: a peer refuses messages of another version (`wire-version`). */
export const PROTOCOL_VERSION = 1
