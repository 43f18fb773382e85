export * from './admission-gate.js';
export * from './gate-scripts.js';
