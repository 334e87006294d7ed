/** The labels Berth puts on everything it creates in Docker, and the checks that an object is ours. */

export const LABEL_MANAGED = 'org.berth.managed';
export const LABEL_DEPLOYMENT = 'org.berth.deployment';
export const LABEL_USER = 'org.berth.user';
export const LABEL_SERVER = 'org.berth.server';
/** The port the single-user server listens on, so a restarted hub can rebuild the server's URL. */
export const LABEL_PORT = 'org.berth.port';
/** Marks an image probe's container (profiles), so it is never taken for a user's server. */
export const LABEL_PROBE = 'org.berth.probe';
/** The profile version a server runs, `<name>@<version>`. */
export const LABEL_PROFILE = 'org.berth.profile';

export interface LabelInput {
  readonly deploymentId: string;
  readonly user: string;
  readonly serverName: string;
}

/** Labels for a home volume; containers add {@link LABEL_PORT}. */
export function berthLabels(input: LabelInput): Record<string, string> {
  return {
    [LABEL_MANAGED]: 'true',
    [LABEL_DEPLOYMENT]: input.deploymentId,
    [LABEL_USER]: input.user,
    [LABEL_SERVER]: input.serverName,
  };
}

/** True when `labels` mark an object created by this deployment. */
export function isOurs(labels: Record<string, string> | null | undefined, deploymentId: string): boolean {
  return labels?.[LABEL_MANAGED] === 'true' && labels[LABEL_DEPLOYMENT] === deploymentId;
}

/** True when `labels` mark an object created by some Berth deployment. */
export function isBerth(labels: Record<string, string> | null | undefined): boolean {
  return labels?.[LABEL_MANAGED] === 'true';
}

/** A Docker API `filters` value selecting this deployment's objects. */
export function deploymentFilter(deploymentId: string, extra: readonly string[] = []): string {
  return JSON.stringify({
    label: [`${LABEL_MANAGED}=true`, `${LABEL_DEPLOYMENT}=${deploymentId}`, ...extra],
  });
}
