import './dom'
import path from 'node:path'
import { buildClientStack, wxBridge, type ClientStack, type WxBridge } from '@wxmp/test-stack'
const simulate = require('miniprogram-simulate') as { load: (p: string, o: Record<string, unknown>) => string, render: (id: string) => any }

/** The compiled mini-program, as WeChat DevTools opens it. */
export const ROOT = path.join(__dirname, '..', 'miniprogram')

type Teardown = Parameters<typeof buildClientStack>[0]

export interface Phone {
  stack: ClientStack
  bridge: WxBridge
  /** Starts the mini-program (app.js) as WeChat does on a launch: fresh JS, the same storage and WeChat user. */
  launch: () => void
  /** Opens a page: miniprogram-simulate loads its compiled js, wxml (WeChat's template compiler) and json. */
  open: (page: string, query?: Record<string, string>) => Page
}

export interface Page {
  comp: any
  /** onLoad's promise, so a test can wait for the page's first calls. */
  loaded: Promise<void>
  /** The text of the element matching `selector`, or undefined while it is not rendered. */
  text: (selector: string) => string | undefined
  /** Waits until the element shows text that satisfies `check` (polling with a deadline). */
  shows: (selector: string, check?: (text: string) => boolean, timeoutMs?: number) => Promise<string>
}

export async function phone (t: Teardown): Promise<Phone> {
  const stack = await buildClientStack(t)
  const bridge = wxBridge({ requestDomains: [stack.url], ca: stack.ca, simUrl: stack.sim.url })
  const g = globalThis as Record<string, unknown>
  const launch = (): void => {
    bridge.relaunch()
    g.wx = bridge.wx
    for (const key of Object.keys(require.cache)) if (key.startsWith(ROOT)) delete require.cache[key]
    // The deployment setting the README tells you to edit, pointed at this stack.
    ;(require(path.join(ROOT, 'config.js')) as { config: { gatewayUrl: string } }).config.gatewayUrl = stack.url
    let app: unknown
    g.App = (options: unknown) => { app = options }
    g.getApp = () => app
    require(path.join(ROOT, 'app.js'))
  }
  const open = (name: string, query: Record<string, string> = {}): Page => {
    const id = simulate.load(path.join(ROOT, 'pages', name, 'index'), { rootPath: ROOT })
    const comp = simulate.render(id)
    comp.attach(document.createElement('parent-wrapper'))
    const loaded = Promise.resolve(typeof comp.instance.onLoad === 'function' ? comp.instance.onLoad(query) : undefined) as Promise<void>
    const text = (selector: string): string | undefined => {
      const el = comp.querySelector(selector)
      return el === undefined || el === null ? undefined : String(el.dom.textContent)
    }
    const shows = async (selector: string, check: (text: string) => boolean = () => true, timeoutMs = 20_000): Promise<string> => {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const s = text(selector)
        if (s !== undefined && check(s)) return s
        if (Date.now() > deadline) throw new Error(`${name}: ${selector} shows ${JSON.stringify(s)}; error: ${JSON.stringify(text('#error'))}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    return { comp, loaded, text, shows }
  }
  return { stack, bridge, launch, open }
}
