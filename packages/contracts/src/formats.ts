import { FormatRegistry } from '@sinclair/typebox'

// TypeBox's compiler knows no string formats by itself; these are the ones the contracts use.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

function isUri (value: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what a URI must not contain
  if (/[\s\u0000-\u001f]/.test(value)) return false
  try {
    const url = new URL(value)
    return url.protocol.length > 1 && url.host !== ''
  } catch {
    return false
  }
}

if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (v) => UUID.test(v))
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => DATE_TIME.test(v) && !Number.isNaN(Date.parse(v)))
if (!FormatRegistry.Has('uri')) FormatRegistry.Set('uri', isUri)
