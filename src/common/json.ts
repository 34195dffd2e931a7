/** The parsed JSON value of `text`, or the text itself when it is not JSON (logs and payloads that may be either). */
export function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
