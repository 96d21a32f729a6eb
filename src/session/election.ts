/**
 * The rules of failover, as pure functions: who may win, how many must back the winner,
 * and which of two host claims is stronger. The machinery that runs an election (timers,
 * candidacies, backing, takeover) lives in the controller and calls these; keeping the
 * rules here lets them be tested alone and read in one place.
 *
 * Why a quorum: a survivor decides from the candidacies it hears, and it hears only the
 * peers it has links to. Two survivors that cannot hear each other would each pick
 * themselves. Requiring the backing of a majority of the electorate, where each survivor
 * backs exactly one winner per election, means two winners would need two disjoint
 * majorities of one set: impossible. A survivor that cannot gather a majority ends its
 * session with a reason instead of hosting a copy of it.
 */

/** Who took part in the session when the host was lost, as the host last published it. */
export interface Electorate {
  /** The host's succession list: [host, ...guests in join order]. */
  succession: readonly string[]
  /** The host that was lost. */
  lostHost: string | null
  /** Whether the lost host said goodbye (handed over): then it no longer counts. */
  handedOver: boolean
}

/** The peers whose backing counts, and how many of them a winner needs. */
export function quorumOf(electorate: Electorate): { members: Set<string>; needed: number } {
  const members = new Set(electorate.succession)
  if (electorate.handedOver && electorate.lostHost) members.delete(electorate.lostHost)
  return { members, needed: Math.floor(members.size / 2) + 1 }
}

/** Position in the succession list; peers missing from it come last. */
export function rankIn(succession: readonly string[], peerId: string): number {
  const index = succession.indexOf(peerId)
  return index < 0 ? Number.MAX_SAFE_INTEGER : index
}

/**
 * The survivor to back: the best-ranked eligible candidate (viewers may never host), ids
 * breaking ties should two survivors disagree on the list. Undefined when none is eligible.
 */
export function chooseWinner(
  candidates: Iterable<string>,
  succession: readonly string[],
  eligible: (peerId: string) => boolean,
  passedOver: ReadonlySet<string> = new Set(),
): string | undefined {
  return [...candidates]
    .filter((id) => eligible(id) && !passedOver.has(id))
    .sort((a, b) => rankIn(succession, a) - rankIn(succession, b) || (a < b ? -1 : 1))[0]
}

/**
 * Whether a candidate linked to `linked` could gather a majority: only linked members can back
 * it, as no new link forms without a host. Unknown (it did not say): taken to be able.
 */
export function canGather(candidate: string, linked: Iterable<string> | undefined, quorum: { members: ReadonlySet<string>; needed: number }): boolean {
  if (!linked) return true
  const backers = new Set([...linked].filter((id) => quorum.members.has(id)))
  if (quorum.members.has(candidate)) backers.add(candidate)
  return backers.size >= quorum.needed
}

export interface HostClaim {
  epoch: number
  hostId: string | null
}

/**
 * Whether claim `a` beats claim `b`: the newer epoch; in one epoch, the smaller host id.
 * Nothing that changes over time takes part, so both sides reach the same verdict.
 */
export function outranks(a: HostClaim, b: HostClaim): boolean {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch
  return a.hostId !== null && b.hostId !== null && a.hostId < b.hostId
}
