import { Empty, contract, rawContract, type EventContract } from './contract.js'
import { EventSubjects, Subjects, authAuditSubject, wechatPushSubject } from './subjects.js'
import { WechatPushEvent, WechatPushReply, wechatPushEventName } from './wechat.js'
import { ServiceIdentity } from './ping.js'
import { JwksResponse } from './tokens.js'
import {
  AccountDeletedReply, AdminUserList, EraseUserReply, EraseUserRequest, FindUsersRequest, LogoutAllReply, LogoutAllRequest,
  PasswordLoginCall, PasswordRegisterCall, RevokeSessionRequest, SearchUsersReply, SearchUsersRequest, SessionList,
  SetUserStatusRequest, UserDeletedEvent, UserStatusReply, WechatLoginCall
} from './account.js'
import {
  AuthAuditEvent, type AuthAuditAction, BindPhoneRequest, BindPhoneResponse, CreateStaffRequest, LoginResponse, ReauthRequest, ReauthResponse,
  SetRoleReply, SetRoleRequest, SignUserStateReply, SignUserStateRequest, StaffAccount, LogoutReply, RefreshRequest, TokenPair,
  TotpEnrollResponse, TotpVerifyRequest, TotpVerifyResponse
} from './auth.js'
import {
  EnsureUserRequest, EnsureUserResponse, GetUserRequest, SetPhoneRequest, UpdateProfileRequest, UserCreatedEvent,
  UserIdentity, UserIdentityRequest, UserProfile
} from './user.js'
import {
  CreatedOrder, CreateOrderReply, CreateOrderRequest, GetOrderRequest, ListOrdersRequest, NotifyReply, Order, OrderPage,
  PaymentRefundedEvent, PaymentSettledEvent, PaymentShippedEvent, PaymentShippingOverdueEvent, PaymentSucceededEvent,
  ProductList, RefundOrderReply, RefundOrderRequest, ShipOrderReply, ShipOrderRequest
} from './payment.js'
import {
  AdminActionEvent, AdminOrderDetail, AdminOrderPage, AdminSearchOrdersRequest, ApproveRefundRequest, CloseOrderRequest,
  CreateRefundRequest, DeclineRefundRequest, RefundDecision, RefundRequestReply
} from './payment-admin.js'

/** `<service>.ping`: the service's name and version; the gateway's /v1/ping fans out to it. */
export function pingContract (service: string) {
  return contract(`${service}.ping`, Empty, ServiceIdentity)
}

/** Every request/reply subject with its request and reply schemas; the subjects are those of `Subjects`. */
export const Contracts = {
  auth: {
    ping: pingContract('auth'),
    jwks: contract(Subjects.auth.jwks, Empty, JwksResponse),
    wechatLogin: contract(Subjects.auth.wechatLogin, WechatLoginCall, LoginResponse),
    refresh: contract(Subjects.auth.refresh, RefreshRequest, TokenPair),
    logout: contract(Subjects.auth.logout, Empty, LogoutReply),
    logoutAll: contract(Subjects.auth.logoutAll, LogoutAllRequest, LogoutAllReply),
    passwordRegister: contract(Subjects.auth.passwordRegister, PasswordRegisterCall, LoginResponse),
    passwordLogin: contract(Subjects.auth.passwordLogin, PasswordLoginCall, LoginResponse),
    totpEnroll: contract(Subjects.auth.totpEnroll, Empty, TotpEnrollResponse),
    totpVerify: contract(Subjects.auth.totpVerify, TotpVerifyRequest, TotpVerifyResponse),
    bindPhone: contract(Subjects.auth.bindPhone, BindPhoneRequest, BindPhoneResponse),
    sessions: contract(Subjects.auth.sessions, Empty, SessionList),
    revokeSession: contract(Subjects.auth.revokeSession, RevokeSessionRequest, LogoutReply),
    deleteAccount: contract(Subjects.auth.deleteAccount, Empty, AccountDeletedReply),
    findUsers: contract(Subjects.auth.findUsers, FindUsersRequest, AdminUserList),
    disableUser: contract(Subjects.auth.disableUser, SetUserStatusRequest, UserStatusReply),
    enableUser: contract(Subjects.auth.enableUser, SetUserStatusRequest, UserStatusReply),
    reauth: contract(Subjects.auth.reauth, ReauthRequest, ReauthResponse),
    createStaff: contract(Subjects.auth.createStaff, CreateStaffRequest, StaffAccount),
    setRole: contract(Subjects.auth.setRole, SetRoleRequest, SetRoleReply),
    wechatPush: rawContract(Subjects.auth.wechatPush, WechatPushReply),
    /** Internal (payment only): the user-state signature of WeChat's virtual payment, made with the session_key. */
    signUserState: contract(Subjects.auth.signUserState, SignUserStateRequest, SignUserStateReply)
  },
  user: {
    ping: pingContract('user'),
    ensure: contract(Subjects.user.ensure, EnsureUserRequest, EnsureUserResponse),
    /** A user without a WeChat identity (a password-only back-office account). */
    create: contract(Subjects.user.create, Empty, UserProfile),
    /** A profile by id, for other services. */
    get: contract(Subjects.user.get, GetUserRequest, UserProfile),
    /** The caller's profile; the user id comes from the verified x-user-id header. */
    me: contract(Subjects.user.me, Empty, UserProfile),
    update: contract(Subjects.user.update, UpdateProfileRequest, UserProfile),
    setPhone: contract(Subjects.user.setPhone, SetPhoneRequest, UserProfile),
    identity: contract(Subjects.user.identity, UserIdentityRequest, UserIdentity),
    erase: contract(Subjects.user.erase, EraseUserRequest, EraseUserReply),
    search: contract(Subjects.user.search, SearchUsersRequest, SearchUsersReply)
  },
  payment: {
    ping: pingContract('payment'),
    listProducts: contract(Subjects.payment.listProducts, Empty, ProductList),
    createOrder: contract(Subjects.payment.createOrder, CreateOrderRequest, CreateOrderReply),
    listOrders: contract(Subjects.payment.listOrders, ListOrdersRequest, OrderPage),
    getOrder: contract(Subjects.payment.getOrder, GetOrderRequest, Order),
    /** The caller's unpaid order with payParams signed now; a prepay near WeChat's two hours is placed again. */
    payParams: contract(Subjects.payment.payParams, GetOrderRequest, CreatedOrder),
    requestRefund: contract(Subjects.payment.requestRefund, CreateRefundRequest, RefundRequestReply),
    cancelOrder: contract(Subjects.payment.cancelOrder, CloseOrderRequest, Order),
    // Staff subjects: the service checks x-user-role (staff or admin) itself, and money actions a recent TOTP.
    refundOrder: contract(Subjects.payment.refundOrder, RefundOrderRequest, RefundOrderReply),
    shipOrder: contract(Subjects.payment.shipOrder, ShipOrderRequest, ShipOrderReply),
    adminSearchOrders: contract(Subjects.payment.adminSearchOrders, AdminSearchOrdersRequest, AdminOrderPage),
    adminGetOrder: contract(Subjects.payment.adminGetOrder, GetOrderRequest, AdminOrderDetail),
    adminApproveRefund: contract(Subjects.payment.adminApproveRefund, ApproveRefundRequest, RefundDecision),
    adminDeclineRefund: contract(Subjects.payment.adminDeclineRefund, DeclineRefundRequest, RefundDecision),
    adminCloseOrder: contract(Subjects.payment.adminCloseOrder, CloseOrderRequest, Order),
    wechatNotify: rawContract(Subjects.payment.wechatNotify, NotifyReply)
  }
} as const

function event<S extends EventContract['schema']> (subject: string, schema: S): EventContract<S> {
  return { subject, schema }
}

/** Every event on the EVENTS stream with the schema of its payload. */
export const Events = {
  userCreated: event(EventSubjects.userCreated, UserCreatedEvent),
  userDeleted: event(EventSubjects.userDeleted, UserDeletedEvent),
  paymentSucceeded: event(EventSubjects.paymentSucceeded, PaymentSucceededEvent),
  paymentRefunded: event(EventSubjects.paymentRefunded, PaymentRefundedEvent),
  paymentShipped: event(EventSubjects.paymentShipped, PaymentShippedEvent),
  paymentSettled: event(EventSubjects.paymentSettled, PaymentSettledEvent),
  paymentShippingOverdue: event(EventSubjects.paymentShippingOverdue, PaymentShippingOverdueEvent),
  /** events.admin.*: the audit trail of staff actions on orders (who approved, declined, refunded, shipped, closed what). */
  adminRefundApproved: event(EventSubjects.adminRefundApproved, AdminActionEvent),
  adminRefundDeclined: event(EventSubjects.adminRefundDeclined, AdminActionEvent),
  adminRefundIssued: event(EventSubjects.adminRefundIssued, AdminActionEvent),
  adminOrderShipped: event(EventSubjects.adminOrderShipped, AdminActionEvent),
  adminOrderClosed: event(EventSubjects.adminOrderClosed, AdminActionEvent),
  /** One audited action of auth, `events.auth.<action>`. */
  authAudit: (action: AuthAuditAction) => event(authAuditSubject(action), AuthAuditEvent),
  /** One message push, `events.wechat.<event>` (consumers filter on the event they handle). */
  wechatPush: (wechatEvent: string) => event(wechatPushSubject(wechatPushEventName(wechatEvent)), WechatPushEvent)
} as const
