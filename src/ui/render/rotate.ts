// dbps rotate's report: per account what the step did, and what to do next. Pure; never a password.
import type { RotateResult } from '../../commands/rotate.js';
import type { Paint } from '../paint.js';

/** Readable report of one rotation step. */
export function rotateText(r: RotateResult, paint: Paint): string {
  const out: string[] = [];
  if (r.failure) {
    out.push(`${paint.bold(r.server)}: ${paint.bad('error')}: ${r.failure.message}`);
    if (r.failure.hint) out.push(`  hint: ${r.failure.hint}`);
    return `${out.join('\n')}\n`;
  }
  for (const a of r.accounts) {
    const who = `'${a.user}'@'${a.host}'`;
    switch (a.status) {
      case 'started':
        out.push(
          `${who}: ${paint.ok('new password added')} beside the old one (both log in); ${a.source === 'env' ? 'the new one is the value of its passwordEnv' : `\`dbps env ${r.service}\` gives the new one`}`,
        );
        break;
      case 'already-started':
        out.push(`${who}: rotation already started at ${a.startedAt}; both passwords log in`);
        break;
      case 'finished':
        out.push(
          `${who}: ${paint.ok('old password dropped')}${a.oldSessions ? paint.warn(` (--force: ${a.oldSessions} session${a.oldSessions === 1 ? '' : 's'} from before the rotation still open; they go on, new logins need the new password)`) : ''}`,
        );
        break;
      case 'refused':
        out.push(
          `${who}: ${paint.bad('not finished')}: ${a.oldSessions} session${a.oldSessions === 1 ? '' : 's'} opened before the rotation started (ids ${a.oldSessionIds?.join(', ')}${(a.oldSessions ?? 0) > (a.oldSessionIds?.length ?? 0) ? ', …' : ''}) still run: instances not redeployed with the new password`,
        );
        break;
      case 'not-started':
        out.push(`${who}: no rotation to finish`);
        break;
    }
  }
  if (r.step === 'start' && r.accounts.some((a) => a.status === 'started' || a.status === 'already-started'))
    out.push(
      paint.dim(
        `next: redeploy ${r.service}'s instances with the new password, then \`dbps rotate ${r.service} --finish\``,
      ),
    );
  if (r.outcome === 'refused')
    out.push(
      paint.dim(
        `redeploy the remaining instances and run \`dbps rotate ${r.service} --finish\` again, or add --force (their open sessions go on; they cannot log in again with the old password)`,
      ),
    );
  return `${out.join('\n')}\n`;
}
