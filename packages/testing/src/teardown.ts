/** The part of a tap Test the helpers need: somewhere to register cleanup. */
export interface Teardown {
  teardown: (fn: () => unknown) => void
}
