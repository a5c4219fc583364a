/**
 * Double-quoted strings as PROV-N and Turtle both write them: the same five escapes (\\ \" \n \r \t).
 * One reader and one writer for both formats.
 */

const escapes: Readonly<Record<string, string>> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' }
const unescapes: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"' }

/** The body of a quoted string (without the quotes). */
export function escapeString(s: string): string {
  return s.replace(/[\\"\n\r\t]/g, (c) => escapes[c]!)
}

/**
 * Reads the quoted string whose opening quote is at `start`; returns its value and the index just
 * after the closing quote. `fail` throws the caller's format error.
 */
export function readQuotedString(text: string, start: number, fail: (why: string) => never): { value: string; end: number } {
  let value = ''
  let i = start + 1
  for (;;) {
    if (i >= text.length) fail('unterminated string')
    const d = text[i]!
    if (d === '"') return { value, end: i + 1 }
    if (d === '\\') {
      const e = text[i + 1]
      if (e === undefined || unescapes[e] === undefined) fail('bad escape in a string')
      value += unescapes[e]
      i += 2
    } else {
      value += d
      i++
    }
  }
}
