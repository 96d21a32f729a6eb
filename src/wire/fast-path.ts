/**
 * Hand-written checks for the messages of the hot path (view deltas, intents, deltas, acks,
 * heartbeats), which valibot otherwise validates at ~10–40 µs each, and for a snapshot,
 * whose list of up to 100,000 intent ids valibot checks at about a microsecond an id. A check accepts only
 * a message that is exactly its schema's shape — every key known, every value valid — and
 * returns it as it is; anything else is left to valibot, which accepts or refuses it.
 * So the fast path never refuses and never accepts what valibot would not: a property
 * test (test/wire/fast-path.test.ts) holds the two to the same answers and outputs.
 */
import { MAX_CHANGES, MAX_ID, MAX_REASON, MAX_SNAPSHOT_IDS, PROTOCOL_VERSION, viewerKey, type WireMessage, type WireType } from './messages.js'
import { nestsWithin } from './shape.js'

type Check = (value: unknown) => boolean
interface Field {
  readonly check: Check
  readonly optional?: boolean
}

const hasOwn = Object.prototype.hasOwnProperty

const isId: Check = (x) => typeof x === 'string' && x.length >= 1 && x.length <= MAX_ID
const isCount: Check = (x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
const isBoolean: Check = (x) => typeof x === 'boolean'
const isReason: Check = (x) => typeof x === 'string' && x.length <= MAX_REASON

/**
 * A provider payload (valibot: a record of unknown, then the schema's own checks). Plain
 * objects only, without the keys valibot's record leaves out of its output, so the object
 * itself equals valibot's copy.
 */
const isPayload: Check = (x) =>
  typeof x === 'object' &&
  x !== null &&
  Object.getPrototypeOf(x) === Object.prototype &&
  !hasOwn.call(x, '__proto__') &&
  !hasOwn.call(x, 'prototype') &&
  !hasOwn.call(x, 'constructor') &&
  nestsWithin(x) &&
  viewerKey(x as Record<string, unknown>)

/** Exactly these keys (optional ones may be absent), each valid. Plain loops: it runs for every message of the hot path. */
function exactly(fields: Record<string, Field>): Check {
  const keys = Object.keys(fields)
  const checks = keys.map((key) => fields[key]!.check)
  const optional = keys.map((key) => fields[key]!.optional === true)
  return (x) => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) return false
    const record = x as Record<string, unknown>
    let present = 0
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      if (!hasOwn.call(record, key)) {
        if (!optional[i]) return false
        continue
      }
      if (!checks[i]!(record[key])) return false
      present++
    }
    return Object.keys(record).length === present
  }
}

const required = (check: Check): Field => ({ check })
const optional = (check: Check): Field => ({ check, optional: true })
const header = (type: WireType) => ({ v: required((x) => x === PROTOCOL_VERSION), t: required((x) => x === type) })

/** A provider's whole state is not walked (see messages.ts): any value the JSON holds. */
const isEntry = exactly({ p: required(isId), w: required((x) => x === null || isId(x)), d: required(() => true) })
const isSnapshotIds: Check = (x) => Array.isArray(x) && x.length <= MAX_SNAPSHOT_IDS && x.every(isId)
const isEntries: Check = (x) => Array.isArray(x) && x.every(isEntry)

/** An own key (not one a prototype lends) and its value valid. */
const has = (record: Record<string, unknown>, key: string, check: Check): boolean => hasOwn.call(record, key) && check(record[key])
const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)

/*
 * The shapes every change passes through, written out field by field: a loop over a
 * field table (`exactly`) makes a call through a table entry per field, which costs these
 * a good part of their decode when the page comes to them cold.
 */
const isView: Check = (x) =>
  isRecord(x) && x.v === PROTOCOL_VERSION && x.t === 'view' && has(x, 'origin', isId) && has(x, 'n', isCount) && has(x, 'p', isId) && has(x, 'd', isPayload) &&
  hasOwn.call(x, 'v') && hasOwn.call(x, 't') && Object.keys(x).length === 6
const isChange: Check = (x) => isRecord(x) && has(x, 'p', isId) && has(x, 'd', isPayload) && Object.keys(x).length === 2
const isChanges: Check = (x) => Array.isArray(x) && x.length >= 1 && x.length <= MAX_CHANGES && x.every(isChange)
const isDelta: Check = (x) =>
  isRecord(x) && x.v === PROTOCOL_VERSION && x.t === 'delta' && has(x, 'seq', isCount) && has(x, 'epoch', isCount) && has(x, 'id', isId) && has(x, 'origin', isId) &&
  has(x, 'changes', isChanges) && hasOwn.call(x, 'v') && hasOwn.call(x, 't') && Object.keys(x).length === 7

const SHAPES: Partial<Record<WireType, Check>> = {
  view: isView,
  intent: exactly({ ...header('intent'), id: required(isId), p: required(isId), d: required(isPayload) }),
  delta: isDelta,
  ack: exactly({ ...header('ack'), id: required(isId), ok: required(isBoolean), reason: optional(isReason), seq: optional(isCount) }),
  ping: exactly({ ...header('ping'), n: required(isCount) }),
  pong: exactly({ ...header('pong'), n: required(isCount) }),
  snapshot: exactly({ ...header('snapshot'), seq: required(isCount), ids: required(isSnapshotIds), entries: required(isEntries) }),
}

/**
 * The message, if it is one of the hot shapes exactly; undefined leaves it to valibot.
 * `raw` is a parsed JSON object.
 */
export function acceptFast(raw: object, type: WireType): WireMessage | undefined {
  const check = Object.hasOwn(SHAPES, type) ? SHAPES[type] : undefined
  return check?.(raw) ? (raw as WireMessage) : undefined
}
