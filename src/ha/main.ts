/** Placeholder until this component lands: says so and exits non-zero. */
export async function main(_argv: string[]): Promise<void> {
  process.stderr.write('codis-ha: not yet available in this version\n');
  process.exit(1);
}
