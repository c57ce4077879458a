import t from 'tap'
import https from 'node:https'
import { expiredCopy } from '@wxmp/test-stack'
import { phone } from './mini-program'

const TOKENS = 'wxmp.tokens'

async function statusWith (url: string, ca: string, token: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    https.get(url, { ca, headers: { authorization: `Bearer ${token}` } }, (res) => { res.resume(); resolve(res.statusCode ?? 0) }).on('error', reject)
  })
}

t.test('the mini-program, page by page, against the whole backend', async (t) => {
  const p = await phone(t)

  await t.test('first launch logs in with wx.login and shows the profile', async (t) => {
    p.launch()
    const login = p.open('login')
    t.equal(await login.shows('#state', (s) => s !== 'signing-in'), 'signed-in')
    t.match(await login.shows('#user-id'), /^[0-9a-f-]{36}$/)
    t.equal(login.text('#nickname'), '(none)')
    t.equal(p.bridge.logins, 1)
  })

  await t.test('the next launch signs in without wx.login', async (t) => {
    p.launch()
    const login = p.open('login')
    t.equal(await login.shows('#state', (s) => s !== 'signing-in'), 'signed-in')
    t.equal(p.bridge.logins, 0)
  })

  await t.test('five pages opened at once with an expired token cause one refresh', async (t) => {
    const stored = p.bridge.storage.get(TOKENS) as { accessToken: string }
    p.bridge.storage.set(TOKENS, { ...stored, accessToken: await expiredCopy(p.stack, stored.accessToken), expiresAt: Date.now() + 3_600_000 })
    p.launch()
    const pages = [p.open('profile'), p.open('orders'), p.open('profile'), p.open('orders'), p.open('profile')]
    await Promise.all(pages.map(async (page) => await page.loaded))
    t.same(pages.map((page) => page.text('#error')), [undefined, undefined, undefined, undefined, undefined], 'every page loaded')
    t.equal(p.bridge.requests.filter((r) => r.url.endsWith('/v1/auth/refresh')).length, 1, 'one refresh')
    t.equal(p.bridge.logins, 0)
  })

  await t.test('edit the profile', async (t) => {
    p.launch()
    const profile = p.open('profile')
    await profile.loaded
    profile.comp.querySelector('#draft').dispatchEvent('input', { detail: { value: '小程序用户' } })
    profile.comp.querySelector('#save').dispatchEvent('tap')
    await profile.shows('#saved')
    t.equal(profile.text('#nickname'), '小程序用户')
    t.ok(p.bridge.requests.some((r) => r.method === 'PUT' && r.url.endsWith('/v1/users/me')), 'sent with PUT')
    const again = p.open('login')
    t.equal(await again.shows('#nickname', (s) => s !== '(none)'), '小程序用户')
  })

  let productId = ''
  await t.test('a lost order answer retried makes one order', async (t) => {
    const products = p.open('products')
    await products.loaded
    productId = String(products.comp.instance.data.products[0].id)
    t.ok(productId)
    p.bridge.loseAnswer((r) => r.method === 'POST' && r.url.endsWith('/v1/payments/orders'))
    const order = p.open('order', { productId })
    t.equal(await order.shows('#status', (s) => s !== ''), 'PENDING')
    const posts = p.bridge.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/v1/payments/orders'))
    t.equal(posts.length, 2)
    t.equal(posts[0]!.header['idempotency-key'], posts[1]!.header['idempotency-key'])
    const orders = p.open('orders')
    await orders.loaded
    t.equal(orders.comp.querySelectorAll('.order').length, 1, 'one order listed')
  })

  await t.test('pay: PAID is shown', async (t) => {
    const order = p.open('order', { productId })
    await order.shows('#status', (s) => s === 'PENDING')
    order.comp.querySelector('#pay').dispatchEvent('tap')
    t.equal(await order.shows('#status', (s) => s !== 'PENDING'), 'PAID')
    t.equal(order.text('#sheet'), 'requestPayment:ok')
  })

  await t.test('cancel: the state is checked with the backend and shown', async (t) => {
    const order = p.open('order', { productId })
    await order.shows('#status', (s) => s === 'PENDING')
    p.bridge.payment = 'cancel'
    p.bridge.relaunch()
    order.comp.querySelector('#pay').dispatchEvent('tap')
    t.equal(await order.shows('#sheet'), 'requestPayment:fail cancel')
    t.equal(order.text('#status'), 'PENDING')
    const id = order.text('#order-id') as string
    t.ok(p.bridge.requests.some((r) => r.method === 'GET' && r.url.endsWith(`/v1/payments/orders/${id}`)), 'asked the backend after the sheet closed')
    p.bridge.payment = 'pay'
  })

  await t.test('pay later from my orders: fresh payParams from the backend, PAID shown', async (t) => {
    const orders = p.open('orders')
    await orders.loaded
    // One .order-id and one .order-status per row, in the list's order.
    const texts = (selector: string): string[] => (orders.comp.querySelectorAll(selector) as Array<{ dom: { textContent: string } }>).map((el) => el.dom.textContent)
    const id = texts('.order-id')[texts('.order-status').indexOf('PENDING')] as string
    t.ok(id, 'an order left unpaid above is listed')
    const pay = orders.comp.querySelector(`#pay-${id}`)
    t.ok(pay, 'and offers to pay')
    pay.dispatchEvent('tap')
    t.equal(await orders.shows('#sheet'), 'requestPayment:ok')
    t.equal(await orders.shows(`#status-${id}`, (s) => s !== 'PENDING'), 'PAID')
    t.ok(p.bridge.requests.some((r) => r.method === 'POST' && r.url.endsWith(`/v1/payments/orders/${id}/pay-params`)), 'the listed order got its payParams from the backend')
  })

  await t.test('bind the phone from the getPhoneNumber button', async (t) => {
    const res = await fetch(`${p.stack.sim.url}/sim/phone-code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ openid: p.bridge.openid, phoneNumber: '13800138000' }) })
    const { code } = await res.json() as { code: string }
    const page = p.open('phone')
    page.comp.querySelector('#bind').dispatchEvent('getphonenumber', { detail: { code, errMsg: 'getPhoneNumber:ok' } })
    t.equal(await page.shows('#phone'), '138****8000')
  })

  await t.test('log out: the old token is refused', async (t) => {
    const old = (p.bridge.storage.get(TOKENS) as { accessToken: string }).accessToken
    const profile = p.open('profile')
    await profile.loaded
    profile.comp.querySelector('#logout').dispatchEvent('tap')
    await profile.shows('#signed-out')
    t.notOk(p.bridge.storage.has(TOKENS))
    t.equal(await statusWith(`${p.stack.url}/v1/users/me`, p.stack.ca, old), 401)
  })
})
