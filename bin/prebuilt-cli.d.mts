/** The prebuilt entry point's URL when it matches the sources, else undefined. */
export function prebuiltCli(): Promise<string | undefined>;
/** Compiles cli/main.ts and what it imports into dist/cli; packages stay in node_modules. */
export function buildCli(): Promise<{ dir: string; modules: number }>;
