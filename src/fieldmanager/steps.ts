// Long computations as steps: a generator yields between its phases, so one run can go straight through (small
// objects) or give the event loop a turn between phases (a 100,000-key map costs tens of milliseconds a phase,
// and no request may hold the loop for its whole pipeline).
export type Steps<T> = Generator<void, T, undefined>;

/** Runs every step at once. */
export function runToEnd<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Runs the steps with `pause` between them; without one, at once. */
export async function runSteps<T>(steps: Steps<T>, pause?: () => Promise<void>): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (pause) await pause();
  }
}
