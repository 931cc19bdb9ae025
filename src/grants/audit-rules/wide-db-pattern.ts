// Database-level grants whose stored name is a LIKE pattern wider than the owner's database.
import { dbPattern } from '../../sql/quote.js';
import { isWildPattern, patternMatches, unescapePattern } from '../effective.js';
import { type AuditRule, type Finding, grantFinding, ownerOf } from './rule.js';

export const wideDbPattern: AuditRule = {
  id: 'wide-db-pattern',
  description: "A database-level grant's name pattern matches more than the owner's database",
  defaultSeverity: 'error',
  help: 'A database name in a database-level GRANT is a LIKE pattern: an unescaped `_` matches any one character and `%` any run of characters, so `GRANT … ON orders_db.*` also grants `ordersXdb` and any database created later with a matching name. Escape them: ON `orders\\_db`.*.',
  check(ctx) {
    const findings: Finding[] = [];
    const known = [...new Set([...ctx.catalog.databases, ...ctx.serviceDatabases.map((d) => d.database)])];
    for (const ea of ctx.effective) {
      const owner = ownerOf(ctx, ea.account);
      if (!owner) continue;
      for (const grant of ea.grants) {
        if (grant.scope.level !== 'database' || !isWildPattern(grant.scope.pattern)) continue;
        const pattern = grant.scope.pattern;
        const others = known.filter((n) => n !== owner.database && patternMatches(pattern, n));
        const wildcards = [pattern.match(/(?<!\\)%/) ? '`%`' : '', pattern.match(/(?<!\\)_/) ? '`_`' : '']
          .filter(Boolean)
          .join(' and ');
        const f = grantFinding(
          ctx,
          this,
          ea,
          grant,
          grant.privileges,
          `pattern \`${pattern}\` has unescaped ${wildcards}: it matches ${others.length ? `${others.join(', ')} and ` : ''}any future database with a matching name, not only ${owner.database}`,
        );
        // Re-grant on the escaped name when the pattern was meant as the owner's own database.
        if (grant.path.kind === 'direct' && unescapePattern(pattern) === owner.database) {
          f.fix += ` GRANT ${grant.privileges.join(', ')} ON ${dbPattern(owner.database)}.* TO ${f.account};`;
        }
        findings.push(f);
      }
    }
    return findings;
  },
};
