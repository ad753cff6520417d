/** The version string of codis-ts components (one place for all of them). */
export { VERSION } from '../utils/version.js';
