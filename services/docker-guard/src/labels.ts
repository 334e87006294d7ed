/** Berth's Docker labels (the same names the hub's spawner writes; see docs/spawner.md). */

export const LABEL_MANAGED = 'org.berth.managed';
export const LABEL_DEPLOYMENT = 'org.berth.deployment';
export const LABEL_USER = 'org.berth.user';
export const LABEL_SERVER = 'org.berth.server';
/** On the egress network: the only network a user container may be connected to after creation. */
export const LABEL_EGRESS = 'org.berth.egress';
export const COMPOSE_PROJECT = 'com.docker.compose.project';
export const COMPOSE_SERVICE = 'com.docker.compose.service';

export type Labels = Readonly<Record<string, string>> | null | undefined;

/** An object this deployment created. */
export function isOurs(labels: Labels, deploymentId: string): boolean {
  return labels?.[LABEL_MANAGED] === 'true' && labels[LABEL_DEPLOYMENT] === deploymentId;
}

/** An object some Berth deployment created. */
export function isBerth(labels: Labels): boolean {
  return labels?.[LABEL_MANAGED] === 'true';
}
