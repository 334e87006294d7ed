/** Entry point of a worker process, forked by the primary's WorkerPool (BERTH_PROXY_WORKERS > 1). */
import { runWorker } from './worker.ts';

runWorker();
