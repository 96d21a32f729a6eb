/** The simulator's timers: short, so a run covers many failovers in little virtual time. */
export const SIM_TIMERS = {
  heartbeat: { intervalMs: 1_000, softTimeoutMs: 3_000, hardTimeoutMs: 8_000 },
  electionTimeoutMs: 1_500,
  linkTimeoutMs: 5_000,
  joinTimeoutMs: 10_000,
  meshLimit: 4,
}

/** After the last fault heals, everyone must be settled within this: hard timeout + election bound. */
export const RECOVERY_BOUND_MS = SIM_TIMERS.heartbeat.hardTimeoutMs + 4 * SIM_TIMERS.electionTimeoutMs + SIM_TIMERS.joinTimeoutMs
