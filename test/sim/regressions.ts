/**
 * Every seed that ever found a bug, kept as a regression case (with what it found).
 * 3: snapshot overtaken by later deltas on re-bootstrap; 4: fenced link kept a host "reconnecting";
 * 12: overwritten outbox not re-applied by a new host; 37: partition dropped an intent;
 * 43: tie between two epoch-2 hosts; 167: host listed an unlinked voter; 332: silent winner;
 * 517: demoted host kept a delta the new host lacked; 708: resent history refused as stale epoch;
 * 1618, 2728: two hosts each followed the other (claims compared session sizes that change);
 * 2208, 3729: a demoted host counted as not bootstrapped, its changes never sent;
 * 3394, 3816: dedupe state outlived a re-bootstrap, so re-issued deltas were skipped;
 * 636: a re-bootstrap asked of a host that then died left a follower waiting forever;
 * 9828: a host that said goodbye kept its link and was greeted by a host that did not list it;
 * 52, 108: messages arriving together (one batch frame) were role-checked on arrival, before the
 * new host's hello ahead of them had been handled, so its orders were dropped.
 */
export const REGRESSION_SEEDS: number[] = [3, 4, 12, 37, 43, 52, 108, 167, 332, 517, 708, 1618, 636, 2208, 2728, 3394, 3729, 3816, 9828]
