export { createClient } from './client.ts';
export * from './errors/index.ts';
export type * from './types.ts';
