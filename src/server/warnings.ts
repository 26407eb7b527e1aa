// Warning response headers as kube-apiserver writes them (KEP-1693's recorder): each text once, quoted with only
// `"` and `\` escaped and its UTF-8 sent as is; a text that holds control characters or is not valid UTF-8 is
// dropped, not sent; past 4,096 characters in all, every text is cut to 256 characters and no more are added once
// that budget is spent again. Texts quote user input (unknown field names), so none may break the header.

const totalRunes = 4 * 1024;
const itemRunes = 256;

// Go's unicode.IsControl: C0, DEL and C1.
const controlCharacter = /[\u0000-\u001f\u007f-\u009f]/;
// Half of a surrogate pair: no UTF-8 encodes it, so Go would not call the text valid UTF-8.
const loneSurrogate = /\p{Cs}/u;

function headerValue(text: string): string | undefined {
  if (loneSurrogate.test(text) || controlCharacter.test(text)) return undefined;
  const quoted = `299 - "${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  // Node writes header strings one byte per character: the UTF-8 bytes, as characters, go out as they are.
  return Buffer.from(quoted, 'utf8').toString('latin1');
}

const runeLength = (text: string): number => {
  let n = 0;
  for (const _ of text) n++;
  return n;
};

const truncated = (text: string): string => {
  let out = '';
  let n = 0;
  for (const c of text) {
    if (n++ === itemRunes) break;
    out += c;
  }
  return out;
};

/** The Warning header values for `texts`, added in order as kube's recorder adds them. */
export function warningHeaders(texts: readonly string[]): string[] {
  const seen = new Set<string>();
  const ordered: string[] = [];
  let headers: string[] = [];
  let written = 0;
  let truncating = false;
  for (const text of texts) {
    if (text === '' || (truncating && written >= totalRunes) || seen.has(text)) continue;
    seen.add(text);
    ordered.push(text);
    const shown = truncating ? truncated(text) : text;
    const value = headerValue(shown);
    if (value === undefined) continue;
    const length = runeLength(shown);
    if (truncating || written + length <= totalRunes) {
      written += length;
      headers.push(value);
      continue;
    }
    // Over the budget: start again with every text so far cut short.
    truncating = true;
    written = 0;
    headers = [];
    for (const earlier of ordered) {
      const short = truncated(earlier);
      const replayed = headerValue(short);
      if (replayed === undefined) continue;
      written += runeLength(short);
      headers.push(replayed);
    }
  }
  return headers;
}
