import { readFileSync } from 'node:fs';

/** The README's fenced code blocks, in order. */
export function readmeBlocks(readmePath: string): Array<{ lang: string; text: string }> {
  const text = readFileSync(readmePath, 'utf8');
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, text: m[2]! }));
}

/** The block whose first line is `firstLine` (e.g. `// src/main.js`), exactly as the README has it. */
export function readmeFile(blocks: ReturnType<typeof readmeBlocks>, firstLine: string): string {
  const found = blocks.filter((b) => b.text.split('\n')[0] === firstLine);
  if (found.length !== 1) throw new Error(`README: expected one code block starting with "${firstLine}", found ${found.length}`);
  return found[0]!.text;
}

/** A command of a `sh` block, without its trailing `# comment`; throws unless the README has exactly this line. */
export function readmeCommand(blocks: ReturnType<typeof readmeBlocks>, command: string): string {
  const lines = blocks.filter((b) => b.lang === 'sh').flatMap((b) => b.text.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()));
  if (!lines.includes(command)) throw new Error(`README: no sh block has the line "${command}"`);
  return command;
}
