export {
  type ApiMetrics,
  createApiMetrics,
  createRegistry,
  createWorkerMetrics,
  type WorkerMetrics,
} from './registry.js';
