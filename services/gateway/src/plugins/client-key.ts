import { isIPv4, isIPv6 } from 'node:net'

/**
 * The per-IP rate-limit key of a client address. An IPv6 client is keyed by its /64: one subscriber (a home,
 * a phone, a VM) gets a whole /64 and picks any address in it, so counting per address would give it 2^64
 * budgets. IPv4-mapped IPv6 (`::ffff:a.b.c.d`, a dual-stack socket) counts as the IPv4 address it is.
 */
export function clientKey (ip: string): string {
  if (isIPv4(ip)) return ip
  const address = ip.split('%')[0] ?? ip
  if (!isIPv6(address)) return ip
  const groups = expand(address)
  const [hi = 0, lo = 0] = groups.slice(6)
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.')
  return groups.slice(0, 4).map((g) => g.toString(16)).join(':') + '::/64'
}

/** The eight 16-bit groups of a valid IPv6 address, `::` and a dotted IPv4 tail expanded. */
function expand (address: string): number[] {
  let text = address
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number]
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const parse = (part: string): number[] => part === '' ? [] : part.split(':').map((h) => parseInt(h, 16))
  const front = parse(head)
  const back = tail === undefined ? [] : parse(tail)
  return [...front, ...Array(8 - front.length - back.length).fill(0) as number[], ...back]
}
