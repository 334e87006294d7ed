import { parseArgs } from 'node:util';
import { issueApiToken } from '../api/tokens.ts';
import { checkUserName } from '../api/validate.ts';
import { hashPassword, MAX_PASSWORD_LENGTH } from '../auth/password.ts';
import { readRbacFile } from '../authz/rbac-file.ts';
import { RoleBook } from '../authz/roles.ts';
import { loadConfig } from '../config/load.ts';
import { createDatabase, migrateToLatest } from '../db/database.ts';
import { TokensRepo } from '../db/tokens-repo.ts';
import { UsersRepo } from '../db/users-repo.ts';
import { HubError } from '../errors.ts';
import { StackFileError } from '../stack/stack-file.ts';
import { ADMIN_USAGE, runAdmin } from './admin.ts';
import { runDoctor } from './doctor/doctor.ts';
import { exitCode, render } from './doctor/report.ts';
import { initSecrets, initTls } from './init-secrets.ts';
import { INVITE_USAGE, runInvite } from './invite.ts';
import { PROFILES_USAGE, runProfiles } from './profiles.ts';
import { runStackFile, STACK_FILE_USAGE } from './stack-file.ts';

const USAGE = `usage: berth <command>

  user add <name> [--admin] [--password-stdin]   create a local user (password read from stdin)
  user set-password <name> --password-stdin        change a local user's password
  token create <name> [--scopes a,b] [--note t] [--expires-in seconds]
                                                   mint an API token; prints it once
${INVITE_USAGE}  migrate                                          bring the database schema up to date
  init-secrets                                     create missing secret files (compose init step)
${STACK_FILE_USAGE}  doctor                                           check the running deployment against the security model
                                                   (PASS/WARN/FAIL lines; exits 1 when one fails)
${PROFILES_USAGE}${ADMIN_USAGE}`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function withDb<T>(fn: (db: ReturnType<typeof createDatabase>) => Promise<T>): Promise<T> {
  const db = createDatabase(loadConfig().database.url, 2);
  try {
    await migrateToLatest(db);
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      admin: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      'password-stdin': { type: 'boolean', default: false },
      scopes: { type: 'string' },
      note: { type: 'string' },
      'expires-in': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
      compose: { type: 'string' },
      override: { type: 'string' },
      secrets: { type: 'string' },
    },
  });
  const [group, action, name] = positionals;
  if (values.help || !group) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  if (group === 'init-secrets') {
    for (const line of initSecrets(process.env)) process.stdout.write(`${line}\n`);
    for (const line of await initTls(process.env)) process.stdout.write(`${line}\n`);
    return 0;
  }
  if (group === 'stack-file') {
    const { text, log } = await runStackFile(values);
    for (const line of log) process.stderr.write(`${line}\n`);
    process.stdout.write(text);
    return 0;
  }
  if (group === 'doctor') {
    const findings = await runDoctor(process.env);
    process.stdout.write(render(findings));
    return exitCode(findings);
  }
  if (group === 'profiles') {
    const config = loadConfig();
    return withDb((db) =>
      runProfiles({ action, arg: name, all: values.all, readStdin }, config, db, (l) =>
        process.stdout.write(`${l}\n`),
      ),
    );
  }
  if (group === 'users' || group === 'groups' || group === 'tokens') {
    return withDb((db) =>
      runAdmin(db, { words: positionals, admin: values.admin }, (l) => process.stdout.write(`${l}\n`)),
    );
  }
  if (group === 'migrate') {
    const report = await withDb((db) => migrateToLatest(db));
    process.stdout.write(`schema up to date (${report.applied.length} migrations applied now)\n`);
    return 0;
  }
  if (group === 'user' && (action === 'add' || action === 'set-password')) {
    const user = checkUserName(name);
    let hash: string | null = null;
    if (values['password-stdin']) {
      const pw = await readStdin();
      if (!pw.trim()) throw new HubError('BAD_REQUEST', 'empty password');
      if (pw.length > MAX_PASSWORD_LENGTH) throw new HubError('BAD_REQUEST', 'password too long');
      hash = await hashPassword(pw);
    } else if (action === 'set-password') {
      throw new HubError('BAD_REQUEST', 'set-password needs --password-stdin');
    }
    return withDb(async (db) => {
      const users = new UsersRepo(db);
      if (action === 'add') {
        const created = await users.create(user, { admin: values.admin, passwordHash: hash });
        if (!created) throw new HubError('USER_EXISTS', `user ${user} already exists`);
        process.stdout.write(`created user ${user}${values.admin ? ' (admin)' : ''}\n`);
      } else {
        const row = await users.byName(user);
        if (!row) throw new HubError('USER_NOT_FOUND', `no such user: ${user}`);
        await users.update(row.id, { passwordHash: hash });
        process.stdout.write(`password changed for ${user}\n`);
      }
      return 0;
    });
  }
  if (group === 'invite') {
    const text = await withDb((db) =>
      runInvite(db, loadConfig(), action, { admin: values.admin, expiresIn: values['expires-in'] }),
    );
    process.stdout.write(text);
    return 0;
  }
  if (group === 'token' && action === 'create') {
    const user = checkUserName(name);
    const expires = values['expires-in'] ? Number(values['expires-in']) : undefined;
    if (expires !== undefined && (!Number.isInteger(expires) || expires <= 0)) {
      throw new HubError('BAD_REQUEST', '--expires-in must be a positive number of seconds');
    }
    return withDb(async (db) => {
      const row = await new UsersRepo(db).byName(user);
      if (!row) throw new HubError('USER_NOT_FOUND', `no such user: ${user}`);
      const body = {
        ...(values.scopes
          ? {
              scopes: values.scopes
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean),
            }
          : {}),
        ...(values.note ? { note: values.note } : {}),
        ...(expires ? { expires_in: expires } : {}),
      };
      // Custom roles count as in the hub: a token may carry what the user's roles give them.
      const roles = new RoleBook(readRbacFile(loadConfig().rbac.file));
      const t = await issueApiToken({ tokens: new TokensRepo(db), roles }, row, body);
      process.stdout.write(`${t.token}\n`);
      return 0;
    });
  }
  process.stderr.write(`berth: unknown command: ${positionals.join(' ')}\n${USAGE}`);
  return 2;
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const msg =
      err instanceof HubError || err instanceof TypeError || err instanceof StackFileError
        ? err.message
        : String(err);
    process.stderr.write(`berth: ${msg}\n`);
    process.exit(err instanceof HubError ? 1 : 2);
  },
);
