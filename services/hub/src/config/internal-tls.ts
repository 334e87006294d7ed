/**
 * Internal TLS settings (docs/configuration.md "Internal TLS"): on by default. The authorities live in the
 * hub's secrets (`dir`); the init step creates them, and the hub's and the proxy's certificates.
 */
import { z } from 'zod';

const days = z.number().int().min(1).max(3650);

export const internalTlsSchema = z
  .strictObject({
    enabled: z.boolean(),
    /** The authorities and the hub's certificate (0600, in the hub's secrets volume). */
    dir: z.string().min(1),
    /** Lifetime of each user server's certificate, issued at every start. */
    serverCertDays: days,
    /** Used when the hub creates the PKI itself (no init step): the authorities' and the hub's lifetimes. */
    caDays: days,
    serviceCertDays: days,
  })
  .refine((t) => t.serverCertDays <= t.caDays && t.serviceCertDays <= t.caDays, {
    message: 'certificates cannot outlive their authority: keep the day counts at or below the CA days',
  });

export type InternalTlsConfig = z.infer<typeof internalTlsSchema>;

type Env = Readonly<Record<string, string | undefined>>;

/** Raw values for the schema; `fail` throws the loader's ConfigError naming the variable. */
export function internalTlsFromEnv(env: Env, fail: (message: string) => never) {
  const flag = env.BERTH_INTERNAL_TLS;
  let enabled = true;
  if (flag === '0' || flag === 'false') enabled = false;
  else if (flag !== undefined && flag !== '' && flag !== '1' && flag !== 'true') {
    fail(`BERTH_INTERNAL_TLS: expected 1 or 0, got ${JSON.stringify(flag.slice(0, 32))}`);
  }
  const n = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw))
      fail(`${name}: expected a whole number of days, got ${JSON.stringify(raw.slice(0, 32))}`);
    return Number(raw);
  };
  if (enabled) {
    for (const name of ['BERTH_HUB_API_URL', 'BERTH_PROXY_API_URL']) {
      if (env[name]?.startsWith('http://')) {
        fail(`${name}: internal TLS is on (BERTH_INTERNAL_TLS=1), so it must be an https:// URL`);
      }
    }
  }
  return {
    enabled,
    dir: env.BERTH_INTERNAL_TLS_DIR || '/run/berth/hub/tls',
    serverCertDays: n('BERTH_INTERNAL_TLS_SERVER_CERT_DAYS', 30),
    caDays: n('BERTH_INTERNAL_TLS_CA_DAYS', 3650),
    serviceCertDays: n('BERTH_INTERNAL_TLS_SERVICE_CERT_DAYS', 365),
  };
}
