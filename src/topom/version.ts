/** The version string of codis-ts components (Codis's version, then ours). */
export const VERSION = '3.2.2-ts0.1.0';
