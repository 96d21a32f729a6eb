/**
 * The frames a link writes (integers big-endian), shared by the outbound queue
 * (framing.ts) and the reassembler (reassembler.ts):
 *   whole message: [flags][payload…]
 *   batch:         [flags]([length u16][payload…])…   several whole messages of one lane
 *   chunk:         [flags][message id u32][total length u32][offset u32][payload…]
 * flags: bit 0 = lane (1 = bulk), bit 1 = chunk, bit 2 = batch, bit 3 = text (chunks only:
 *   the message was text, encoded straight into its frames, and arrives as text, decoded as
 *   its frames come); other bits must be zero.
 *   text frame:    a lone small control message sent as text goes as a text frame, headerless,
 *                  and arrives as text: browsers deliver small text frames sooner than binary
 *                  ones, and neither side encodes or decodes UTF-8. Bytes always go as binary.
 */
export const BULK_FLAG = 0b001
export const CHUNK_FLAG = 0b010
export const BATCH_FLAG = 0b100
export const TEXT_FLAG = 0b1000
export const WHOLE_HEADER_BYTES = 1
export const BATCH_LENGTH_BYTES = 2
