/**
 * RFC 4514 escaping of one attribute value for a DN (`uid=<value>,ou=people,...`), so a username can never
 * add, end or change an RDN: `,` `+` `"` `\` `<` `>` `;` `=` are backslash-escaped, a leading `#` or space and
 * a trailing space too, and control characters (NUL included) become `\XX`.
 */
export function escapeDnValue(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).padStart(2, '0')}`;
    else if (',+"\\<>;='.includes(ch)) out += `\\${ch}`;
    else out += ch;
  }
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** Fill a DN template's `{username}` with the escaped name. */
export function dnFromTemplate(template: string, username: string): string {
  return template.split('{username}').join(escapeDnValue(username));
}

/** The value of a DN's first RDN, unescaped: `cn=hub-admins,ou=groups,dc=x` → `hub-admins`. */
export function firstRdnValue(dn: string): string | undefined {
  let i = 0;
  let escaped = false;
  for (; i < dn.length; i++) {
    const ch = dn[i];
    if (escaped) escaped = false;
    else if (ch === '\\') escaped = true;
    else if (ch === ',' || ch === '+') break;
  }
  const rdn = dn.slice(0, i);
  const eq = rdn.indexOf('=');
  if (eq < 1) return undefined;
  return unescapeDnValue(rdn.slice(eq + 1).trim());
}

function unescapeDnValue(v: string): string {
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < v.length; i++) {
    if (v[i] === '\\' && i + 1 < v.length) {
      const hex = v.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(Number.parseInt(hex, 16));
        i += 2;
      } else {
        bytes.push(...enc.encode(v[i + 1]));
        i += 1;
      }
    } else {
      bytes.push(...enc.encode(v[i]));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
