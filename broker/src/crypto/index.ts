export { createSealer, deriveKey, SealError, type Sealer, type SealerOptions } from './seal.js';
