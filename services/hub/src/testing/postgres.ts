import { PostgreSqlContainer, type StartedPostgreSqlContainer } from '@testcontainers/postgresql';

/** The Postgres image tests run against: the offline kit's, unless told otherwise. */
export const POSTGRES_IMAGE = process.env.BERTH_TEST_POSTGRES_IMAGE ?? 'berth/postgres:15';

/** A real, throwaway Postgres. */
export async function startPostgres(): Promise<StartedPostgreSqlContainer> {
  return new PostgreSqlContainer(POSTGRES_IMAGE)
    .withDatabase('berth')
    .withUsername('berth')
    .withPassword('test-password-not-secret')
    .start();
}
