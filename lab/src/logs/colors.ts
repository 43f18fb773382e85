/** ANSI colours for the terminal, or plain text: one switch, decided once. */
export interface Colors {
  enabled: boolean;
  paint(code: number, text: string): string;
  /** A stable colour per writer, so api-2 always looks like api-2. */
  forName(name: string, text: string): string;
  forLevel(level: number, text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const NAMED: Record<string, number> = { 'api-1': 36, 'api-2': 32, 'api-3': 34, worker: 35, nginx: 33, lab: 90 };
const OTHERS = [96, 92, 94, 95, 93];

/**
 * Colour when writing to a terminal, never when NO_COLOR is set (https://no-color.org)
 * or the output is a pipe or a file, so redirected logs stay plain text.
 */
export function shouldColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

export function createColors(enabled: boolean): Colors {
  const paint = (code: number, text: string) => (enabled ? `\u001b[${code}m${text}\u001b[0m` : text);
  const hash = (s: string) => [...s].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  return {
    enabled,
    paint,
    forName: (name, text) => paint(NAMED[name] ?? OTHERS[hash(name) % OTHERS.length]!, text),
    forLevel: (level, text) =>
      level >= 50 ? paint(31, text) : level >= 40 ? paint(33, text) : level > 0 && level < 30 ? paint(90, text) : text,
    dim: (text) => paint(2, text),
    bold: (text) => paint(1, text),
  };
}
