import type { RbacSource, RoleDef, ServiceDef } from './rbac-file.ts';

/** Role names and raw scopes an entity holds through custom roles. */
export interface Held {
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
}

/**
 * Custom roles from the RBAC file, answering who holds which. A user holds the roles given to them and to any
 * of their groups (as JupyterHub's `get_roles_for`); default roles (user, admin) are decided by the admin flag.
 */
export class RoleBook {
  readonly #roles: readonly RoleDef[];
  readonly #services: ReadonlyMap<string, ServiceDef>;

  constructor(source: RbacSource = { roles: [], services: [] }) {
    this.#roles = source.roles;
    this.#services = new Map(source.services.map((s) => [s.name, s]));
  }

  static empty(): RoleBook {
    return new RoleBook();
  }

  #held(match: (r: RoleDef) => boolean): Held {
    const mine = this.#roles.filter(match);
    return { roles: mine.map((r) => r.name), scopes: [...new Set(mine.flatMap((r) => r.scopes))] };
  }

  forUser(name: string, groups: readonly string[]): Held {
    return this.#held((r) => r.users.includes(name) || r.groups.some((g) => groups.includes(g)));
  }

  /**
   * The custom roles given to the user by name, as JupyterHub's user model lists them (`user.roles`: roles
   * held through a group show on the group's model, not the user's).
   */
  assignedToUser(name: string): string[] {
    return this.#roles.filter((r) => r.users.includes(name)).map((r) => r.name);
  }

  forGroup(name: string): string[] {
    return [...this.#held((r) => r.groups.includes(name)).roles];
  }

  forService(name: string): Held {
    return this.#held((r) => r.services.includes(name));
  }

  services(): ServiceDef[] {
    return [...this.#services.values()];
  }

  service(name: string): ServiceDef | undefined {
    return this.#services.get(name);
  }
}
