export * from './check.ts';
export * from './contracts.ts';
