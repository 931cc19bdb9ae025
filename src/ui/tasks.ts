// How parallel jobs are shown: live listr2 tasks on a terminal, plain lines on stderr otherwise,
// nothing under --json / -q (errors are reported by the command's renderer). The only listr2 user.
import type { Job, JobRunner } from '../runtime/jobs.js';
import type { Output } from './output.js';

export type TaskDisplay = 'live' | 'plain' | 'silent';

/** The display that fits the output options and whether stderr is a terminal. */
export function taskDisplay(io: Output, stderrIsTTY = process.stderr.isTTY === true): TaskDisplay {
  if (io.opts.json || io.opts.quiet) return 'silent';
  return stderrIsTTY ? 'live' : 'plain';
}

function failureText(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}

/** A JobRunner that shows progress the chosen way. */
export function taskRunner(io: Output, display: TaskDisplay = taskDisplay(io)): JobRunner {
  if (display === 'silent') return (jobs) => Promise.allSettled(jobs.map((j) => j.run(() => undefined)));
  if (display === 'plain') {
    const line = (t: string) => process.stderr.write(`${t}\n`);
    return <T>(jobs: Job<T>[]) =>
      Promise.allSettled(
        jobs.map(async (job) => {
          try {
            const result = await job.run((text) => line(`${job.title}: ${text}`));
            line(`${job.title}: ${job.describe(result)}`);
            return result;
          } catch (e) {
            line(`${job.title}: ${io.paintErr.bad('failed')}: ${failureText(e)}`);
            throw e;
          }
        }),
      );
  }
  return async <T>(jobs: Job<T>[]) => {
    const { Listr, ProcessOutput } = await import('listr2');
    const settled: PromiseSettledResult<T>[] = new Array(jobs.length);
    const list = new Listr(
      jobs.map((job, i) => ({
        title: job.title,
        task: async (_ctx: unknown, task: { output: string; title: string }) => {
          try {
            const value = await job.run((text) => {
              task.output = text;
            });
            settled[i] = { status: 'fulfilled', value };
            task.title = `${job.title}: ${job.describe(value)}`;
          } catch (reason) {
            settled[i] = { status: 'rejected', reason };
            throw new Error(failureText(reason));
          }
        },
      })),
      {
        concurrent: true,
        exitOnError: false,
        // Progress belongs on stderr so stdout stays clean for results.
        rendererOptions: { collapseErrors: false },
        processOutput: new ProcessOutput(process.stderr, process.stderr),
      } as ConstructorParameters<typeof Listr>[1],
    );
    await list.run().catch(() => undefined);
    return settled;
  };
}
