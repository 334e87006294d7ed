/** One line of `berth doctor`: an item of SECURITY-MODEL.md as it stands in the running deployment. */
export type Status = 'PASS' | 'WARN' | 'FAIL';

export interface Finding {
  /** Stable id, e.g. `secrets.cookie-secret`. */
  readonly id: string;
  readonly status: Status;
  readonly detail: string;
}

export const pass = (id: string, detail: string): Finding => ({ id, status: 'PASS', detail });
export const warn = (id: string, detail: string): Finding => ({ id, status: 'WARN', detail });
export const fail = (id: string, detail: string): Finding => ({ id, status: 'FAIL', detail });

export function render(findings: readonly Finding[]): string {
  const width = Math.max(...findings.map((f) => f.id.length), 10);
  const lines = findings.map((f) => `${f.status}  ${f.id.padEnd(width)}  ${f.detail}`);
  const n = (s: Status) => findings.filter((f) => f.status === s).length;
  lines.push('', `${n('PASS')} passed, ${n('WARN')} warnings, ${n('FAIL')} failed`);
  return `${lines.join('\n')}\n`;
}

export const exitCode = (findings: readonly Finding[]): number =>
  findings.some((f) => f.status === 'FAIL') ? 1 : 0;
