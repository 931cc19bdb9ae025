// How an interrupted restore (state.json `restore`) is reported by every command that meets it.
import type { RestoreRecord } from './state.js';

/** The refusal `up`, `status` and `restore` give for a server whose restore was interrupted. */
export function interruptedRestoreText(server: string, r: RestoreRecord): { message: string; hint: string } {
  return {
    message: `server "${server}": a restore from set ${r.set}${r.toTime ? ` to ${r.toTime}` : ''} was interrupted (at ${r.phase}); its datadir is not the restored one yet and the previous datadir is at ${r.movedAside}`,
    hint: 'run `dbps restore --resume` to finish that restore, or `dbps restore --rollback` to put the previous datadir back',
  };
}
