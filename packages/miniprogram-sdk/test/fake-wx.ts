/** A scripted wx for the SDK's internals: every wx.request is parked until the test answers it. */
export interface Parked {
  method: string
  url: string
  header: Record<string, string>
  data: unknown
  answer: (statusCode: number, data: unknown) => void
  fail: (errMsg: string) => void
}

export interface FakeWx {
  wx: any
  parked: Parked[]
  storage: Map<string, unknown>
  logins: number
  /** Codes wx.login hands out, in order. */
  codes: string[]
}

export function fakeWx (): FakeWx {
  const f: FakeWx = {
    parked: [],
    storage: new Map(),
    logins: 0,
    codes: [],
    wx: {
      request: (o: any) => {
        f.parked.push({
          method: o.method ?? 'GET',
          url: o.url,
          header: o.header ?? {},
          data: o.data,
          answer: (statusCode, data) => { o.success({ statusCode, data, header: {}, errMsg: 'request:ok' }) },
          fail: (errMsg) => { o.fail({ errMsg }) }
        })
      },
      login: (o: any) => {
        f.logins++
        const code = f.codes.shift() ?? `code-${f.logins}`
        setTimeout(() => { o.success({ code, errMsg: 'login:ok' }) }, 0)
      },
      requestPayment: (o: any) => { o.fail({ errMsg: 'requestPayment:fail cancel' }) },
      getStorageSync: (k: string) => f.storage.has(k) ? f.storage.get(k) : '',
      setStorageSync: (k: string, v: unknown) => { f.storage.set(k, v) },
      removeStorageSync: (k: string) => { f.storage.delete(k) }
    }
  }
  return f
}

/** Waits until `n` requests are parked (the client's promises settle across a few ticks). */
export async function parked (f: FakeWx, n: number, timeoutMs = 5000): Promise<Parked[]> {
  const deadline = Date.now() + timeoutMs
  while (f.parked.length < n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} parked requests, have ${f.parked.length}: ${f.parked.map((p) => p.url).join(', ')}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return f.parked
}

/** Takes the oldest parked request whose URL ends with `path`. */
export async function take (f: FakeWx, path: string, timeoutMs = 5000): Promise<Parked> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const i = f.parked.findIndex((p) => p.url.endsWith(path))
    if (i >= 0) return f.parked.splice(i, 1)[0] as Parked
    if (Date.now() > deadline) throw new Error(`no request to ${path}; parked: ${f.parked.map((p) => p.url).join(', ')}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
