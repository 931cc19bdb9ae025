// `dbps validate`: two objects that would get the same Kubernetes name are an error at the place in
// services.yaml that made the second one, so the Kubernetes output never silently overwrites itself.

import { type K8sNameOwner, k8sNameCollisions } from '../fleet/k8s-names.js';
import type { Fleet } from '../fleet/model.js';
import type { DocPath, SourceMap } from './source-map.js';
import type { ServicesFile } from './types.js';

type Err = (path: DocPath, message: string, key?: boolean) => void;

/** Reports every Kubernetes name collision of a resolved fleet through `err`. */
export function checkK8sNames(fleet: Fleet, spec: ServicesFile, source: SourceMap, file: string, err: Err): void {
  for (const c of k8sNameCollisions(fleet)) {
    const [path, key] = ownerPath(c.second.owner, fleet, spec);
    const [firstPath, firstKey] = ownerPath(c.first.owner, fleet, spec);
    const place = firstKey ? source.keyAt(firstPath) : source.valueAt(firstPath);
    err(
      path,
      `${c.second.what} would get the Kubernetes ${c.kind} name "${c.name}", already taken by ${c.first.what} (${file}:${place.line}:${place.column}); ` +
        `Kubernetes names hold only a-z, 0-9 and "-" (dbps maps "_" and other characters to "-", lower case), so ${fix(c.first.owner, c.second.owner)}`,
      key,
    );
  }
}

/** Where in services.yaml an object's owner is declared, and whether that place is a key. */
function ownerPath(owner: K8sNameOwner, fleet: Fleet, spec: ServicesFile): [DocPath, boolean] {
  const serverPath = (name: string): [DocPath, boolean] =>
    spec.servers?.[name] ? [['servers', name], true] : [['services', name], true];
  switch (owner.type) {
    case 'server':
      return serverPath(owner.server);
    case 'service':
      return [['services', owner.service], true];
    case 'account': {
      if (!owner.service) return serverPath(owner.server);
      const declared = spec.services[owner.service]?.users ?? [];
      const i = declared.findIndex((u) => u.name === owner.user && (u.host ?? fleet.accountHost) === owner.host);
      if (i >= 0) return [['services', owner.service, 'users', i, 'name'], false];
      if (spec.services[owner.service]?.outbox && owner.user.endsWith('_outbox'))
        return [['services', owner.service, 'outbox'], true];
      return [['services', owner.service], true];
    }
  }
}

/** The fix that fits a collision: two names that differ only in characters Kubernetes cannot hold. */
function fix(first: K8sNameOwner, second: K8sNameOwner): string {
  if (first.type === 'account' && second.type === 'account')
    return first.user === second.user
      ? 'the two hosts differ only in such characters; write one host pattern, or rename one account'
      : `"${first.user}" and "${second.user}" differ only in such characters; rename one of the users`;
  if (first.type === 'account' || second.type === 'account')
    return 'rename the user or the service so their names differ in letters or digits';
  return 'rename one of them so the names differ in letters or digits';
}
