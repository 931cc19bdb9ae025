// `backup: { schedule, retention }` checks: the schedule goes verbatim into the operator's Backup
// (a Kubernetes-style cron), so text it would reject must fail `validate`, not the cluster. Pure.

/** Descriptors Kubernetes CronJob and the operator's cron parser accept in place of five fields. */
const MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface Field {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** `?` ("no specific value") is allowed in the day fields. */
  question?: boolean;
}

const FIELDS: Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31, question: true },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day of week', min: 0, max: 7, names: DAYS, question: true },
];

const EXAMPLE = 'write five fields "minute hour day-of-month month day-of-week", e.g. "0 3 * * *", or @daily';

/** Why `text` is not a cron schedule, or undefined when it is one. */
export function cronProblem(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith('@')) {
    return MACROS.includes(trimmed.toLowerCase())
      ? undefined
      : `schedule "${text}" is not a cron descriptor (${MACROS.join(', ')}); ${EXAMPLE}`;
  }
  const parts = trimmed.split(/\s+/).filter(Boolean);
  if (parts.length !== 5) return `schedule "${text}" is not a cron expression (${parts.length} fields); ${EXAMPLE}`;
  for (let i = 0; i < 5; i++) {
    const field = FIELDS[i]!;
    const problem = fieldProblem(parts[i]!, field);
    if (problem) return `schedule "${text}": the ${field.name} field "${parts[i]}" ${problem}; ${EXAMPLE}`;
  }
  return undefined;
}

function fieldProblem(text: string, f: Field): string | undefined {
  if (f.question && text === '?') return undefined;
  for (const item of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(item);
    if (!m) return 'is not a value, range, list or step';
    const [, base, step] = m;
    if (step !== undefined && Number(step) < 1) return 'has a step of 0';
    if (base === '*') continue;
    const range = base!.split('-');
    if (range.length > 2) return 'is not a value, range, list or step';
    const values = range.map((v) => value(v, f));
    if (values.some((v) => v === undefined)) return `must hold values from ${f.min} to ${f.max}`;
    if (values.length === 2 && values[0]! > values[1]!) return 'has a range that runs backwards';
  }
  return undefined;
}

function value(text: string, f: Field): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= f.min && n <= f.max ? n : undefined;
  }
  const i = f.names?.indexOf(text.toLowerCase()) ?? -1;
  return i < 0 ? undefined : i + (f.names === MONTHS ? 1 : 0);
}

/** Why a schema-valid retention (`<n>h|d|w`) cannot be used, or undefined: zero would keep nothing. */
export function retentionProblem(text: string): string | undefined {
  const n = Number.parseInt(text, 10);
  if (n === 0) return `retention "${text}" would keep no backup at all; give at least 1h (e.g. 7d)`;
  return undefined;
}
