import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    // Two cores: the heavy concurrency and crash suites run beside at most one other file.
    maxWorkers: 2,
    // A timeout catches a hang, not slowness: the suites that start processes (a server killed
    // and restarted, two engines on one database) take up to 45 s when the machine is loaded.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    globalSetup: ['test/support/global-setup.ts'],
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: ['test/outages/**'] } },
      {
        // Suites that stop and restart a shared server (RabbitMQ, NATS) run after all the others,
        // one file at a time, so that no other suite meets the outage.
        extends: true,
        test: {
          name: 'outages',
          include: ['test/outages/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          fileParallelism: false,
        },
      },
    ],
  },
});
