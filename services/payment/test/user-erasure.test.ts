import t from 'tap'
import { Subjects, type Order, type ShipOrderReply } from '@wxmp/contracts'
import { clientAs } from '@wxmp/service/testing'
import { buildPayment } from './helpers/harness.js'

t.test('a deleted user\'s orders stay, without the payer openid; a paid order keeps it only until its shipping is reported', async (t) => {
  const h = await buildPayment(t)
  const userId = await h.newUser()
  const unpaid = (await h.createOrder(userId)).order
  const paid = (await h.createOrder(userId)).order
  await h.pay(paid.outTradeNo)
  await h.until(async () => (await h.call<Order>(Subjects.payment.getOrder, { id: paid.id }, userId)).status, (s) => s === 'PAID')
  const bystander = await h.newUser()
  const theirs = (await h.createOrder(bystander)).order

  // auth erases the user (as it does for DELETE /v1/users/me); the user service publishes events.user.deleted.
  const auth = await clientAs(t, 'auth', h.prefix)
  t.same((await auth.request(Subjects.user.erase, { userId }, undefined)).data, { userId, erased: true })
  t.same((await auth.request(Subjects.user.erase, { userId }, undefined)).data, { userId, erased: false }, 'a repeat erases nothing more')
  t.equal((await h.events('events.user.deleted')).length, 1)

  const erased = await h.until(async () => await h.row(unpaid.id), (r) => r.payer_openid === null)
  t.match(erased, { user_id: userId, amount: unpaid.amount, out_trade_no: unpaid.outTradeNo }, 'the order stays under the user id')
  t.type((await h.row(paid.id)).payer_openid, 'string', 'the paid order keeps the openid WeChat\'s shipping report needs')
  t.type((await h.row(theirs.id)).payer_openid, 'string', 'other users\' orders are untouched')
  const { rows } = await h.payment.app.pg.query('SELECT count(*)::int AS n FROM erased_users WHERE user_id = $1', [userId])
  t.equal(rows[0].n, 1, 'applied once')

  const shipped = await h.callAs<ShipOrderReply>(Subjects.payment.shipOrder, { orderId: paid.id, expressCompany: 'SF', trackingNo: 'SF1234567890', receiverContact: '138****8000' }, h.staff())
  t.match(shipped, { shipment: 'reported', order: { status: 'SHIPPED' } }, 'staff still ship the paid order')
  t.equal((await h.row(paid.id)).payer_openid, null, 'and the openid goes once the report is in')
  const { rows: [shipment] } = await h.payment.app.pg.query('SELECT receiver_contact FROM shipments WHERE order_id = $1', [paid.id])
  t.equal(shipment.receiver_contact, null, 'with the receiver contact')
})
