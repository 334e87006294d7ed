/**
 * Berth's internal trust graph (PROTOCOL.md "Internal TLS: a trust graph, not one CA").
 *
 * Four authorities, each signing one kind of certificate. Every TLS endpoint trusts only the authorities of the
 * peers it should talk to, so a user server's certificate (notebooks-ca) opens no other user server (which trust
 * only hub-ca and proxy-client-ca as clients), and neither reaches the proxy's REST API (which trusts only
 * hub-ca). JupyterHub's fifth CA, services-ca, is left out until Berth runs hub services.
 */
export const AUTHORITY_NAMES = ['hub-ca', 'proxy-api-ca', 'proxy-client-ca', 'notebooks-ca'] as const;
export type AuthorityName = (typeof AUTHORITY_NAMES)[number];

/** Which authority signs what. */
export const SIGNS: Readonly<Record<AuthorityName, string>> = {
  'hub-ca': "the hub's certificate (server and client)",
  'proxy-api-ca': "the proxy's REST API server certificate",
  'proxy-client-ca': "the proxy's client certificate, presented to user servers and to the hub",
  'notebooks-ca': "each user server's certificate (CN user-<name>, server and client)",
};

/** The bundle each endpoint verifies its peers with. */
export const TRUST = {
  /** A user server: clients it accepts (JUPYTERHUB_SSL_CLIENT_CA), also how it verifies the hub's API. */
  userServer: ['hub-ca', 'proxy-client-ca'],
  /** The hub's listener: clients it accepts (servers calling the API, the proxy, its own health check). */
  hubListener: ['notebooks-ca', 'proxy-client-ca', 'hub-ca'],
  /** The hub as a client of user servers (readiness checks). */
  hubToServers: ['notebooks-ca'],
  /** The hub as a client of the proxy's REST API. */
  hubToProxyApi: ['proxy-api-ca'],
  /** The proxy's REST API: clients it accepts. */
  proxyApiClients: ['hub-ca'],
  /** The proxy as a client of its targets: user servers and the hub. */
  proxyTargets: ['notebooks-ca', 'hub-ca'],
} as const satisfies Record<string, readonly AuthorityName[]>;

export type Endpoint = keyof typeof TRUST;
