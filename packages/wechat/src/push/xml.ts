// WeChat's push documents are one flat <xml> element of leaf children, text or CDATA. A full XML parser would
// bring entity expansion and nesting this format never uses; this reader accepts exactly that shape and refuses
// anything else.

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: '\'' }

function unescape (text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) =>
    e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : ENTITIES[e]!)
}

/** Parses `<xml><A><![CDATA[..]]></A><B>1</B></xml>` into `{A: '..', B: '1'}`; undefined when it is not that shape. */
export function parseFlatXml (xml: string): Record<string, string> | undefined {
  const doc = /^\s*(?:<\?xml[^>]*\?>\s*)?<xml>([\s\S]*)<\/xml>\s*$/.exec(xml)
  if (doc === null) return undefined
  const out: Record<string, string> = {}
  const child = /\s*<([A-Za-z_][\w.-]*)>(?:<!\[CDATA\[([\s\S]*?)\]\]>|([^<]*))<\/\1>\s*/y
  const inner = doc[1]!
  let at = 0
  while (at < inner.length) {
    if (/^\s*$/.test(inner.slice(at))) break
    child.lastIndex = at
    const m = child.exec(inner)
    if (m === null) return undefined
    out[m[1]!] = m[2] ?? unescape(m[3]!)
    at = child.lastIndex
  }
  return out
}

/** Writes a flat record as WeChat does: numbers bare, strings in CDATA. */
export function buildFlatXml (fields: Record<string, string | number>): string {
  const parts = Object.entries(fields).map(([k, v]) =>
    typeof v === 'number' ? `<${k}>${v}</${k}>` : `<${k}><![CDATA[${v.replaceAll(']]>', ']]]]><![CDATA[>')}]]></${k}>`)
  return `<xml>${parts.join('')}</xml>`
}
