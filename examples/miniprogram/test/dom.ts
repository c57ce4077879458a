import { JSDOM } from 'jsdom'

// miniprogram-simulate renders into a DOM: jsdom's globals before it loads, as its jest environment would give.
const dom = new JSDOM('<!doctype html><html><head></head><body></body></html>', { pretendToBeVisual: true })
const g = globalThis as Record<string, unknown>
const w = dom.window as unknown as Record<string, unknown>
g.window = dom.window
for (const name of ['document', 'Node', 'Element', 'HTMLElement', 'MutationObserver', 'getComputedStyle', 'requestAnimationFrame']) g[name] ??= w[name]
// The events j-component dispatches on jsdom elements must be jsdom's; Node's own Event stays for fetch and timers.
g.CustomEvent = w.CustomEvent
g.TouchEvent = w.TouchEvent
