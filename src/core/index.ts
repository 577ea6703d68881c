export * from './types.js';
export * from './errors.js';
export * from './clock.js';
export * from './ids.js';
export * from './canonical-json.js';
export * from './digest.js';
export * from './duration.js';
export * from './audit-event.js';
