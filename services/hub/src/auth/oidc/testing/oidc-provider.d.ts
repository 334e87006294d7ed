/** The subset of oidc-provider 9 that the test provider uses (the package ships no types). */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface Account {
    accountId: string;
    claims(): Promise<Record<string, unknown>>;
  }
  interface Client {
    grantTypeAllowed(type: string): boolean;
  }
  interface Configuration {
    clients?: unknown[];
    findAccount?(ctx: unknown, id: string): Promise<Account | undefined>;
    claims?: Record<string, string[]>;
    scopes?: string[];
    features?: Record<string, unknown>;
    pkce?: { required?: () => boolean };
    cookies?: { keys?: string[] };
    issueRefreshToken?(ctx: unknown, client: Client): Promise<boolean>;
    ttl?: Record<string, number>;
    renderError?(ctx: { type: string; body: unknown }, out: Record<string, unknown>): void | Promise<void>;
  }
  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
}
