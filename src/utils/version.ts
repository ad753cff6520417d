/** The version of every codis-ts component: the Codis release it matches, then ours. */
export const VERSION = '3.2.2-ts0.1.0';
