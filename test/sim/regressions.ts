/** Every seed that ever found a bug, kept as a regression case. */
export const REGRESSION_SEEDS: number[] = []
