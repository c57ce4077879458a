import t from 'tap'
import { clientKey } from '../../src/plugins/client-key.js'
import { buildEdge, call } from '../helpers/edge.js'

t.test('clientKey: IPv4 as is, IPv6 by its /64, IPv4-mapped IPv6 as the IPv4 address', async (t) => {
  t.equal(clientKey('203.0.113.7'), '203.0.113.7')
  t.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64')
  t.equal(clientKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64', 'any spelling of the same /64')
  t.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64')
  t.equal(clientKey('2001:db8:1:3::1'), '2001:db8:1:3::/64', 'the next /64 is another client')
  t.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64', 'a zone id does not make a new client')
  t.equal(clientKey('::ffff:203.0.113.7'), '203.0.113.7')
  t.equal(clientKey('::1'), '0:0:0:0::/64')
})

t.test('per-IP limits count an IPv6 client by its /64, so rotating addresses within it does not reset the budget', async (t) => {
  const edge = await buildEdge(t, { TRUST_PROXY: '127.0.0.1', RATE_LIMIT_DEFAULT_MAX: '2' })
  const from = async (ip: string): Promise<number> => (await call(`${edge.base}/v1/test/open`, { headers: { 'x-forwarded-for': ip } })).status
  const statuses = [await from('2001:db8:5:6::1'), await from('2001:db8:5:6::2'), await from('2001:db8:5:6:ffff::3')]
  t.same(statuses, [200, 200, 429], 'three addresses of one /64 share one budget')
  t.equal(await from('2001:db8:5:7::1'), 200, 'the neighbouring /64 has its own')
})

t.test('the public /readyz is rate-limited per client in its own class; the admin port\'s is not', async (t) => {
  const edge = await buildEdge(t, { RATE_LIMIT_PROBE_MAX: '2', RATE_LIMIT_DEFAULT_MAX: '100' })
  const statuses = []
  for (let i = 0; i < 3; i++) statuses.push((await call(`${edge.base}/readyz`)).status)
  t.same(statuses, [200, 200, 429])
  t.equal((await call(`${edge.base}/v1/test/open`)).status, 200, 'other routes keep their own budget')
})
