// MariaDB identifier rules dbps enforces for names it creates (databases, tables, accounts).

export const MAX_DATABASE_NAME = 64;
export const MAX_TABLE_NAME = 64;
/** MariaDB 10.6+ allows user names up to 80 characters (mysql.global_priv). */
export const MAX_USER_NAME = 80;
export const MAX_HOST_NAME = 255;

const IDENT = /^[A-Za-z0-9_$]+$/;

/** Why `name` cannot be a database or table name dbps creates, or undefined when it can. */
export function invalidIdentifier(name: string, kind: 'database' | 'table', max: number): string | undefined {
  if (name.length === 0) return `${kind} name must not be empty`;
  if (name.length > max)
    return `${kind} name "${name}" is ${name.length} characters long; MariaDB allows at most ${max}, so choose a shorter one`;
  if (!IDENT.test(name)) {
    const fixed = name.replace(/[^A-Za-z0-9_$]+/g, '_');
    return `${kind} name "${name}" may hold only letters, digits, "_" and "$"${IDENT.test(fixed) && !/^[0-9]+$/.test(fixed) ? `; try "${fixed}"` : ''}`;
  }
  if (/^[0-9]+$/.test(name)) return `${kind} name "${name}" must not be all digits; choose a name with a letter in it`;
  return undefined;
}

/** Why `name` cannot be an account user name, or undefined when it can. */
export function invalidUserName(name: string): string | undefined {
  if (name.length === 0) return 'user name must not be empty';
  if (name.length > MAX_USER_NAME)
    return `user name "${name}" is ${name.length} characters long; MariaDB allows at most ${MAX_USER_NAME}, so choose a shorter one`;
  if (!/^[A-Za-z0-9_$.-]+$/.test(name)) {
    const fixed = name.replace(/[^A-Za-z0-9_$.-]+/g, '_');
    return `user name "${name}" may hold only letters, digits, "_", "$", "." and "-"${/^[A-Za-z0-9_$.-]+$/.test(fixed) ? `; try "${fixed}"` : ''}`;
  }
  return undefined;
}

/** Why `host` cannot be an account host, or undefined when it can. */
export function invalidAccountHost(host: string): string | undefined {
  if (host.length > MAX_HOST_NAME) return `account host "${host}" is longer than ${MAX_HOST_NAME} characters`;
  if (!/^[A-Za-z0-9_.%:/-]+$/.test(host)) return `account host "${host}" may hold only letters, digits and . _ % : / -`;
  return undefined;
}

/** A service name as a SQL-friendly stem ("order-svc" -> "order_svc"). */
export function sqlStem(serviceName: string): string {
  return serviceName.replace(/-/g, '_');
}
