// Parallel work with progress, as data: commands describe jobs, the CLI decides how they are shown
// (src/ui/tasks.ts: live listr2 tasks, plain lines, or nothing). Commands never import listr2.

export interface Job<T> {
  /** What the job works on, e.g. `orders` or `shared (inventory, payments)`. */
  title: string;
  run(progress: (text: string) => void): Promise<T>;
  /** One line shown when the job is done, e.g. `started on port 3307 in 2.1 s`. */
  describe(result: T): string;
}

/** Runs jobs concurrently and settles every one of them: one failing server never stops the others. */
export type JobRunner = <T>(jobs: Job<T>[]) => Promise<PromiseSettledResult<T>[]>;

/** The runner for library use and tests: no output at all. */
export const runJobsSilently: JobRunner = (jobs) => Promise.allSettled(jobs.map((j) => j.run(() => undefined)));
