import type { ProxyRoute, RouteTable } from '../proxy/client.ts';
import { normalizeRoutePath } from '../proxy/diff.ts';

/** A route table in memory, as CHP keeps it; for hub-logic tests. The real proxy has its own tests. */
export class MemoryRouteTable implements RouteTable {
  readonly routes = new Map<string, ProxyRoute>();
  async add(path: string, target: string, data: Record<string, unknown> = {}): Promise<void> {
    this.routes.set(normalizeRoutePath(path), { ...data, target });
  }
  async remove(path: string): Promise<void> {
    this.routes.delete(normalizeRoutePath(path));
  }
  async list(): Promise<Record<string, ProxyRoute>> {
    return Object.fromEntries(this.routes);
  }
}
